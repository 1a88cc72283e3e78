#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks the v2 HELLO mac1/mac2 and COOKIE test vector of docs/protocol.md
(section 12.2) with implementations other than weft's: hashlib's BLAKE2b,
and XChaCha20-Poly1305 twice: PyNaCl (libsodium, as weft) and HChaCha20
written here from draft-irtf-cfrg-xchacha-03 over `cryptography`'s
ChaCha20-Poly1305 (OpenSSL). Debian: python3-nacl, python3-cryptography."""
import hashlib
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

def h(s):
    return bytes.fromhex(''.join(s.split()))

psk = bytes(range(32))
name = b'prod'
secret = bytes(range(0x80, 0xa0))
nonce = bytes(range(0xa0, 0xb8))
source = bytes([10, 0, 0, 1]) + struct.pack('>H', 6783)
hello_before_macs = h('''
01 02 00 00 11 22 33 44 67 5d d5 74 ed 77 89 31
0b 3d 2e 76 81 f3 79 0b 46 6c 77 3b 15 21 fe cf
36 57 79 58 37 1e a5 2f 3a d9 22 9a 25 45 f7 c8
bb 3e 75 15 83 7a 23 8b 18 b5 cf 47 c4 32 81 03
48 ea d5 73 3a a8 60 5c bb 62 ea 62 e5 4b''')
expect = {
    'mac1_key': '29c52dd7ce378d7fb61b488ebc162735e6e6ac1cee106325f0e36ad505475b83',
    'seal_key': '5aab42400d07aa32155ba1085aad521227f6bf70a736add576f8c228738c88f8',
    'mac1': '67d862dd2eb3476606691f046b0309a7',
    'cookie': '876d9fa0d713524ef6373044ef8fdd36',
    'cookie_msg': '05020000112233 44a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7'
                  '7dee0f0ac974b0cf3a6298749752cee7e1b088e3f2a65e27490116f056babed7',
    'mac2': 'c12e777ada94930a47edadb798c3a38a',
}

def b2(data, key, n):
    return hashlib.blake2b(data, key=key, digest_size=n).digest()

def rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))

def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack('<8I', key)) + list(struct.unpack('<4I', nonce16))
    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))

def xchacha_seal(key, nonce24, plain, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b'\0' * 4 + nonce24[16:], plain, ad)

# The HChaCha20 test vector of draft-irtf-cfrg-xchacha-03, section 2.2.1.
assert hchacha20(bytes(range(32)), h('000000090000004a0000000031415927')) == h(
    '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc')

got = {}
got['mac1_key'] = b2(b'weft/2 mac1 ' + name, psk, 32)
got['seal_key'] = b2(b'weft/2 cookie ' + name, psk, 32)
got['mac1'] = b2(hello_before_macs, got['mac1_key'], 16)
got['cookie'] = b2(source, secret, 16)
sealed = xchacha_seal(got['seal_key'], nonce, got['cookie'], got['mac1'])
try:
    import nacl.bindings
    assert nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        got['cookie'], got['mac1'], nonce, got['seal_key']) == sealed, 'PyNaCl disagrees'
    print('PyNaCl agrees with HChaCha20 + cryptography')
except ImportError:
    print('PyNaCl not installed: XChaCha20-Poly1305 checked with cryptography only')
got['cookie_msg'] = bytes([5, 2, 0, 0]) + struct.pack('>I', 0x11223344) + nonce + sealed
got['mac2'] = b2(hello_before_macs + got['mac1'], got['cookie'], 16)
bad = 0
for k, v in expect.items():
    ok = got[k] == h(v)
    bad += not ok
    print(f"{k:10} {'ok' if ok else 'MISMATCH'} {got[k].hex()}")
sys.exit(1 if bad else 0)
