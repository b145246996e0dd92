#!/usr/bin/env python3
"""What the seeds do today (../shared/context/loomio-*.md, "backup.py"), for the benchmark.

  BACKUP_ENCRYPTION_KEY=... fernet_backup.py OUTDIR DB...

For each database, as the seeds' backup service does for its one database: a plain-format
`pg_dump` (-F p, no compression) is read whole into memory, encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under a key derived with PBKDF2-HMAC-SHA256 (salt
b'loomio-backup-salt', 100,000 iterations, 32 bytes, urlsafe base64), and written to
OUTDIR/loomio_backup_<db>_<timestamp>.sql.enc. The only addition, so that the benchmark
covers the whole cluster as the other methods do, is `pg_dumpall --globals-only`
treated the same way first. The passphrase comes from the environment (the seeds' .env),
never from argv. Connection settings come from PGHOST/PGPORT/PGUSER; PG_BINDIR locates
pg_dump.
"""
import base64
import datetime
import hashlib
import os
import subprocess
import sys

from cryptography.fernet import Fernet


def derive_key(password):
    kdf = hashlib.pbkdf2_hmac('sha256', password.encode(), b'loomio-backup-salt', 100000, dklen=32)
    return base64.urlsafe_b64encode(kdf)


def backup(fernet, argv, out_path):
    dump = subprocess.run(argv, check=True, stdout=subprocess.PIPE).stdout
    encrypted = fernet.encrypt(dump)
    with open(out_path, 'wb') as f:
        f.write(encrypted)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: BACKUP_ENCRYPTION_KEY=... fernet_backup.py OUTDIR DB...")
    outdir, dbs = sys.argv[1], sys.argv[2:]
    bindir = os.environ.get('PG_BINDIR', '/usr/lib/postgresql/15/bin')
    fernet = Fernet(derive_key(os.environ['BACKUP_ENCRYPTION_KEY']))
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
    backup(fernet, [f'{bindir}/pg_dumpall', '--globals-only'],
           os.path.join(outdir, f'loomio_backup_globals_{stamp}.sql.enc'))
    for db in dbs:
        backup(fernet, [f'{bindir}/pg_dump', '-F', 'p', '-d', db],
               os.path.join(outdir, f'loomio_backup_{db}_{stamp}.sql.enc'))


if __name__ == '__main__':
    main()
