/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-vfs.c — SQLite's unix VFS with two syncs fewer per writing command (see below).
 *  Owns: the "iommuctl-unix" VFS, registered on first use, and when a WAL open or sync may be
 *  skipped. Must not: change what reaches the disk, only skip syncs that cannot make anything
 *  more durable; run SQL; open a file other than the one SQLite asks for. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "journal-vfs.h"

/*
 * Two things differ from the unix VFS, both about the WAL and both only about syncs
 * that cannot make anything more durable:
 *
 * 1. A WAL that already exists is opened without SQLITE_OPEN_CREATE. SQLite syncs the
 *    directory at a file's first sync whenever it opened it with that flag, whether or
 *    not the open created the file. The WAL is kept between commands (empty, after the
 *    checkpoint at the end of each writing command), so every command would pay one
 *    directory sync for an entry made durable by the command that created the WAL. (The
 *    one gap, a creator killed between creating the WAL and its first sync, is covered
 *    on ext4, XFS and btrfs, where the sync of a new file also makes its directory entry
 *    durable; t0810 replays that on ext4.)
 *
 * 2. A sync of the WAL when nothing was written to it since its last successful sync
 *    returns at once. The checkpoint at the end of a command syncs the WAL before it
 *    copies its pages into journal.db, right after the commit that synced it: with
 *    synchronous=FULL every commit already did. A WAL handle starts out "unsynced",
 *    since another process may have written it and died before its sync; only a sync
 *    made through this handle clears that.
 */

static sqlite3_vfs journal_vfs;
static sqlite3_vfs *unix_vfs;

struct wal_file {
	sqlite3_file base;	/* base.pMethods = &wal_methods */
	sqlite3_file *real;	/* the unix VFS's file, in the same allocation, after this header */
	bool unsynced;		/* written or truncated since the last successful sync (or never synced here) */
};

/* Where the real file starts: past the header, aligned for any member it may have. */
#define WAL_REAL_OFFSET ((sizeof(struct wal_file) + 15) & ~(size_t)15)

static sqlite3_io_methods wal_methods;

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct wal_file *)f)->real;
}

static int wal_close(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xClose(r);
}

static int wal_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xRead(r, buf, n, off);
}

static int wal_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);

	((struct wal_file *)f)->unsynced = true;
	return r->pMethods->xWrite(r, buf, n, off);
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = real_of(f);

	((struct wal_file *)f)->unsynced = true;
	return r->pMethods->xTruncate(r, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	struct wal_file *w = (struct wal_file *)f;
	int rc;

	if (!w->unsynced)
		return SQLITE_OK;
	rc = w->real->pMethods->xSync(w->real, flags);
	if (rc == SQLITE_OK)
		w->unsynced = false;
	return rc;
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFileSize(r, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xLock(r, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xUnlock(r, level);
}

static int wal_check_reserved_lock(sqlite3_file *f, int *out)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xCheckReservedLock(r, out);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFileControl(r, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xSectorSize(r);
}

static int wal_device_characteristics(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xDeviceCharacteristics(r);
}

static int wal_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmMap(r, region, size, extend, out);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmLock(r, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	r->pMethods->xShmBarrier(r);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmUnmap(r, delete_flag);
}

static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFetch(r, off, n, out);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xUnfetch(r, off, p);
}

/* The methods of a WAL: the real file's, version for version, with write, truncate and sync ours. */
static void wal_methods_init(const sqlite3_io_methods *real)
{
	wal_methods = (sqlite3_io_methods){
		.iVersion = real->iVersion < 3 ? real->iVersion : 3,
		.xClose = wal_close,
		.xRead = wal_read,
		.xWrite = wal_write,
		.xTruncate = wal_truncate,
		.xSync = wal_sync,
		.xFileSize = wal_file_size,
		.xLock = wal_lock,
		.xUnlock = wal_unlock,
		.xCheckReservedLock = wal_check_reserved_lock,
		.xFileControl = wal_file_control,
		.xSectorSize = wal_sector_size,
		.xDeviceCharacteristics = wal_device_characteristics,
	};
	if (wal_methods.iVersion >= 2) {
		wal_methods.xShmMap = wal_shm_map;
		wal_methods.xShmLock = wal_shm_lock;
		wal_methods.xShmBarrier = wal_shm_barrier;
		wal_methods.xShmUnmap = wal_shm_unmap;
	}
	if (wal_methods.iVersion >= 3) {
		wal_methods.xFetch = wal_fetch;
		wal_methods.xUnfetch = wal_unfetch;
	}
}

static int unix_open(const char *name, sqlite3_file *file, int flags, int *ret_flags)
{
	struct stat st;

	if ((flags & SQLITE_OPEN_WAL) && (flags & SQLITE_OPEN_CREATE) && name && stat(name, &st) == 0 &&
	    S_ISREG(st.st_mode)) {
		int rc = unix_vfs->xOpen(unix_vfs, name, file, flags & ~SQLITE_OPEN_CREATE, ret_flags);

		/* Gone in between (a sqlite3 shell checkpointed and deleted it): create it. */
		if (rc != SQLITE_CANTOPEN)
			return rc;
	}
	return unix_vfs->xOpen(unix_vfs, name, file, flags, ret_flags);
}

static int journal_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *ret_flags)
{
	struct wal_file *w = (struct wal_file *)file;
	int rc;

	(void)vfs;
	/* Every other file is the unix VFS's own, at the start of the (larger) allocation. */
	if (!(flags & SQLITE_OPEN_WAL))
		return unix_open(name, file, flags, ret_flags);
	w->base.pMethods = NULL;
	w->real = (sqlite3_file *)((char *)file + WAL_REAL_OFFSET);
	w->real->pMethods = NULL;
	w->unsynced = true;
	rc = unix_open(name, w->real, flags, ret_flags);
	if (rc != SQLITE_OK) {
		if (w->real->pMethods)
			w->real->pMethods->xClose(w->real);
		return rc;
	}
	if (!wal_methods.xClose)
		wal_methods_init(w->real->pMethods);
	w->base.pMethods = &wal_methods;
	return SQLITE_OK;
}

const char *journal_vfs_name(void)
{
	if (!journal_vfs.zName) {
		unix_vfs = sqlite3_vfs_find("unix");
		if (!unix_vfs || unix_vfs->iVersion < 1)
			return NULL;
		journal_vfs = *unix_vfs;
		journal_vfs.pNext = NULL;
		journal_vfs.zName = "iommuctl-unix";
		journal_vfs.szOsFile = (int)WAL_REAL_OFFSET + unix_vfs->szOsFile;
		journal_vfs.xOpen = journal_vfs_open;
		if (sqlite3_vfs_register(&journal_vfs, 0) != SQLITE_OK) {
			journal_vfs.zName = NULL;
			return NULL;
		}
	}
	return journal_vfs.zName;
}
