#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# pve-config-db.sh DIR DB — build pmxcfs's config.db from the tree DIR (what /etc/pve holds:
# nodes/NODE/qemu-server/*.conf, mapping/pci.cfg, ...), with sqlite3, in pmxcfs's own schema
# (proxmox/pve-cluster src/pmxcfs/database.c: sql_create_db; see fixtures/pve/SOURCES.md):
# "__version__" at inode 0, the root's children with parent 0, directories type 4 (DT_DIR)
# without data, files type 8 (DT_REG) with their bytes. Used by the tests; the DB is never committed.
set -eu
dir=$1 db=$2
command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed" >&2; exit 77; }
rm -f "$db"
sql=$(mktemp)
trap 'rm -f "$sql"' EXIT
now=$(date +%s)
{
	echo "PRAGMA journal_mode=WAL;"
	echo "CREATE TABLE IF NOT EXISTS tree (  inode INTEGER PRIMARY KEY NOT NULL,  parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'),  version INTEGER NOT NULL CHECK(typeof(version)=='integer'),  writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'),  mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'),  type INTEGER NOT NULL CHECK(typeof(type)=='integer'),  name TEXT NOT NULL,  data BLOB);"
	echo "BEGIN;"
	# Inodes in the order find lists the tree; each entry's parent is its directory's inode.
	(cd "$dir" && find . -mindepth 1 \( -type d -o -type f \) | sort) | awk -v now="$now" -v dir="$dir" '
	BEGIN { ino["."] = 0; n = 0 }
	{
		path = $0; n++; ino[path] = n
		parent = path; sub(/\/[^\/]*$/, "", parent)
		name = path; sub(/^.*\//, "", name)
		gsub(/\047/, "\047\047", name)
		cmd = "test -d \"" dir "/" path "\""
		if (system(cmd) == 0)
			printf "INSERT INTO tree VALUES (%d, %d, %d, 0, %d, 4, \047%s\047, NULL);\n", n, ino[parent], n, now, name
		else
			printf "INSERT INTO tree VALUES (%d, %d, %d, 0, %d, 8, \047%s\047, readfile(\047%s/%s\047));\n", n, ino[parent], n, now, name, dir, path
	}
	END { printf "INSERT INTO tree VALUES (0, 0, %d, 0, %d, 8, \047__version__\047, NULL);\n", n + 1, now }'
	echo "COMMIT;"
	echo "PRAGMA wal_checkpoint(TRUNCATE);"
} >"$sql"
sqlite3 -batch "$db" <"$sql" >/dev/null
chmod 0600 "$db"
