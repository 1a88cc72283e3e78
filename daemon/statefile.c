/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/statefile.h"

int weft_statefile_read(const char *path, char **text, size_t *len,
			char err[static WEFT_ERRLEN])
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*text = NULL;
	*len = 0;
	if (fd < 0) {
		int e = errno;

		snprintf(err, WEFT_ERRLEN, "%s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WEFT_STATEFILE_MAX) {
		snprintf(err, WEFT_ERRLEN, "not a regular file of at most %u bytes",
			 WEFT_STATEFILE_MAX);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, WEFT_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		int e = errno;

		snprintf(err, WEFT_ERRLEN, "%s", strerror(e));
		close(fd);
		free(buf);
		return -e;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = (size_t)n;
	return 0;
}

int weft_statefile_write(const char *path, const char *text, size_t len,
			 char err[static WEFT_ERRLEN])
{
	size_t tmp_len = strlen(path) + sizeof(".new");
	char *tmp = malloc(tmp_len);
	int fd, e = 0;

	if (!tmp) {
		snprintf(err, WEFT_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	snprintf(tmp, tmp_len, "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		e = errno;
	else if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		e = errno ? errno : EIO;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		snprintf(err, WEFT_ERRLEN, "%s: %s", fd < 0 ? tmp : path, strerror(e));
		if (fd >= 0)
			unlink(tmp);
	}
	free(tmp);
	return -e;
}
