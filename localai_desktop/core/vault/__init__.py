"""Encryption at rest for a protected workspace: its key, and files sealed with it.

`keys` makes a random data key for a workspace and keeps it wrapped by a key derived from the
passphrase with scrypt (memory-hard), in a small key file: unlocking unwraps it, changing the
passphrase rewraps only the key, and destroying the key file makes every remnant of the
workspace unreadable (crypto-erase). The unwrapped key opens a `Vault`, which gives the
database its SQLCipher key and seals files (`sealed_files`: AES-256-GCM in authenticated
chunks, so a changed, swapped or cut-off piece is refused rather than misread).
`workspace_files` writes, reads and opens a workspace's derived files (adapters, training
data, checkpoints) plain or sealed behind one interface, and seals existing ones in place;
`scratch` gives plaintext that a library must read or write by path a place off the disk
(an anonymous memory file on Linux).
"""
