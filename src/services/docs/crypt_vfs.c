/*
 * crypt_vfs.c - the "ogcrypt" SQLite VFS (crypt.h): a shim over the
 * default unix VFS that encrypts every page of a database and of its WAL
 * with XChaCha20-Poly1305, and og_docs_crypt_open, which opens a database
 * through it.
 *
 * Layout: page size 4096 with 40 reserved bytes (SQLite never touches
 * them), so files keep SQLite's sizes and offsets. Bytes [0, 4056) of a
 * page are encrypted; [4056, 4080) hold the nonce (random per write) and
 * [4080, 4096) the tag; the associated data is the file kind and the page
 * number (database) or frame number (WAL), so pages cannot be moved. SQLite
 * gets the plaintext back with the reserve zeroed, exactly what it wrote:
 * its WAL checksums cover the whole page.
 *
 * In the WAL only the page payloads are encrypted; the 32-byte header and
 * the 24-byte frame headers (page numbers, salts, checksums) stay clear.
 * The -shm file (page numbers and hashes) is not opened through xOpen and
 * stays as the unix VFS writes it. Every other file (rollback and
 * statement journals, temp files, sorter spills) is refused: connections
 * run with temp_store=MEMORY, and a new database is made in WAL format
 * without a rollback journal (create_db), so none is ever needed.
 *
 * The key reaches xOpen through a thread-local set by og_docs_crypt_open
 * around sqlite3_open_v2 (never a URI); a WAL file takes the key of the
 * main file SQLite opened it for, found by the database name pointer that
 * sqlite3_filename_database gives back.
 */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/sqlite_db.h"
#include "docs/crypt.h"

#define VFS_NAME "ogcrypt"
#define PAGE 4096
#define RESERVE 40
#define BODY (PAGE - RESERVE)
#define NONCE_AT BODY
#define TAG_AT (BODY + (int)crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define WAL_HEADER 32
#define FRAME_HEADER 24
#define FRAME (FRAME_HEADER + PAGE)
/* crypto_kdf context and subkey ids shared with keyfile.c (check key = 2). */
#define KDF_CONTEXT "ogdocs01"
#define SUBKEY_PAGES 1

enum { KIND_DB = 'D', KIND_WAL = 'W' };

typedef struct crypt_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, in the same allocation */
    int kind;
    const char *db_name;     /* main files: the name SQLite opened, the identity its WAL finds */
    struct crypt_file *next; /* the open main files */
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t page[PAGE];
} crypt_file;

/* SQLite aligns file objects to 8 bytes; the unix file after ours too. */
#define REAL_OFFSET ((sizeof(crypt_file) + 7) & ~(size_t)7)

static sqlite3_vfs vfs;
static sqlite3_vfs *base;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;
static pthread_mutex_t mains_lock = PTHREAD_MUTEX_INITIALIZER;
static crypt_file *mains;

/* The page key for the main file the next sqlite3_open_v2 on this thread
 * opens, and the last page that failed authentication on this thread
 * (what og_docs_crypt_open's messages name). */
static _Thread_local const uint8_t *pending_key;
static _Thread_local struct {
    int kind;
    uint64_t no;
} last_bad;

static void make_ad(uint8_t ad[9], int kind, uint64_t no)
{
    ad[0] = (uint8_t)kind;
    for (int i = 0; i < 8; i++)
        ad[1 + i] = (uint8_t)(no >> (8 * i));
}

/* Encrypts plain (PAGE bytes) as page no of kind into out. */
static void seal(const crypt_file *p, uint64_t no, const uint8_t *plain, uint8_t *out)
{
    uint8_t ad[9];
    make_ad(ad, p->kind, no);
    randombytes_buf(out + NONCE_AT, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, out + TAG_AT, NULL, plain, BODY, ad, sizeof ad, NULL,
                                                        out + NONCE_AT, p->key);
}

/* Decrypts page (PAGE bytes) in place; the reserve becomes zeros. 0 when
 * it authenticates. */
static int unseal(const uint8_t *key, int kind, uint64_t no, uint8_t *page)
{
    uint8_t ad[9];
    make_ad(ad, kind, no);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(page, NULL, page, BODY, page + TAG_AT, ad, sizeof ad,
                                                            page + NONCE_AT, key) != 0)
        return -1;
    memset(page + BODY, 0, RESERVE);
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int bad_page(const crypt_file *p, uint64_t no)
{
    last_bad.kind = p->kind;
    last_bad.no = no;
    return SQLITE_IOERR_DATA;
}

/* SQLite never writes into the reserve, so a page whose reserve is not
 * zero would read back different from what was written (and break the
 * WAL checksums): refuse it rather than lose data later. */
static int check_reserve(const uint8_t *page)
{
    return all_zero(page + BODY, RESERVE) ? SQLITE_OK : SQLITE_IOERR_WRITE;
}

/* Database file: whole pages, and reads inside one page (the 100-byte
 * header, the change counter). */
static int db_read(crypt_file *p, uint8_t *buf, int amt, sqlite3_int64 off)
{
    sqlite3_int64 first = off / PAGE;
    if (amt <= 0 || (off + amt - 1) / PAGE != first)
        return SQLITE_IOERR_READ; /* SQLite never reads across pages */
    int whole = amt == PAGE && off % PAGE == 0;
    uint8_t *page = whole ? buf : p->page;
    int rc = p->real->pMethods->xRead(p->real, page, PAGE, first * PAGE);
    if (rc == SQLITE_IOERR_SHORT_READ && all_zero(page, PAGE)) {
        memset(buf, 0, (size_t)amt); /* past the end: SQLite expects zeros */
        return rc;
    }
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
        return rc;
    if (unseal(p->key, KIND_DB, (uint64_t)first + 1, page) != 0)
        return bad_page(p, (uint64_t)first + 1);
    if (!whole)
        memcpy(buf, page + off % PAGE, (size_t)amt);
    return SQLITE_OK;
}

static int db_write(crypt_file *p, const uint8_t *buf, int amt, sqlite3_int64 off)
{
    if (amt <= 0 || amt % PAGE != 0 || off % PAGE != 0)
        return SQLITE_IOERR_WRITE; /* fail closed: never store a partial page in clear */
    for (int at = 0; at < amt; at += PAGE) {
        int rc = check_reserve(buf + at);
        if (rc != SQLITE_OK)
            return rc;
        seal(p, (uint64_t)((off + at) / PAGE) + 1, buf + at, p->page);
        rc = p->real->pMethods->xWrite(p->real, p->page, PAGE, off + at);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* WAL offsets: the frame holding byte off (>= WAL_HEADER) and where its
 * payload starts. */
static sqlite3_int64 frame_of(sqlite3_int64 off)
{
    return (off - WAL_HEADER) / FRAME;
}

static sqlite3_int64 payload_at(sqlite3_int64 frame)
{
    return WAL_HEADER + frame * FRAME + FRAME_HEADER;
}

/* Reads the range as stored, then decrypts each payload it touches. A
 * read that takes a frame's header too is WAL recovery scanning frames: a
 * payload that fails there is the torn last frame of a crash, so it comes
 * back as zeros with the header's salts inverted, which makes SQLite stop
 * at that frame as it would at a bad checksum. A lone payload read (a page
 * of a committed frame) that fails is damage: SQLITE_IOERR_DATA. */
static int wal_read(crypt_file *p, uint8_t *buf, int amt, sqlite3_int64 off)
{
    int rc = p->real->pMethods->xRead(p->real, buf, amt, off);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
        return rc;
    sqlite3_int64 end = off + amt;
    if (end <= WAL_HEADER + FRAME_HEADER)
        return rc;
    sqlite3_int64 frame = frame_of(off < WAL_HEADER ? WAL_HEADER : off);
    for (; payload_at(frame) < end; frame++) {
        sqlite3_int64 ps = payload_at(frame), pe = ps + PAGE;
        if (pe <= off)
            continue;
        sqlite3_int64 lo = ps > off ? ps : off, hi = pe < end ? pe : end;
        uint8_t *dst = buf + (lo - off);
        if (rc == SQLITE_IOERR_SHORT_READ && all_zero(dst, (size_t)(hi - lo)))
            continue; /* past the end */
        int whole = lo == ps && hi == pe;
        uint8_t *page = whole ? dst : p->page;
        if (!whole) {
            int r2 = p->real->pMethods->xRead(p->real, page, PAGE, ps);
            if (r2 != SQLITE_OK && r2 != SQLITE_IOERR_SHORT_READ)
                return r2;
        }
        if (unseal(p->key, KIND_WAL, (uint64_t)frame, page) == 0) {
            if (!whole)
                memcpy(dst, page + (lo - ps), (size_t)(hi - lo));
            continue;
        }
        sqlite3_int64 fh = ps - FRAME_HEADER;
        if (fh < off)
            return bad_page(p, (uint64_t)frame + 1); /* SQLite counts frames from 1 */
        memset(dst, 0, (size_t)(hi - lo));
        for (int i = 8; i < 16; i++) /* salt-1 and salt-2 of the frame header */
            buf[fh - off + i] = (uint8_t)~buf[fh - off + i];
    }
    return rc;
}

/* Headers go through as they are; a payload must be written whole. */
static int wal_write(crypt_file *p, const uint8_t *buf, int amt, sqlite3_int64 off)
{
    sqlite3_int64 pos = off, end = off + amt;
    while (pos < end) {
        sqlite3_int64 seg_end;
        int payload = 0;
        if (pos < WAL_HEADER) {
            seg_end = WAL_HEADER;
        } else {
            sqlite3_int64 ps = payload_at(frame_of(pos));
            payload = pos >= ps;
            seg_end = payload ? ps + PAGE : ps;
        }
        if (seg_end > end)
            seg_end = end;
        const uint8_t *src = buf + (pos - off);
        int rc;
        if (!payload) {
            rc = p->real->pMethods->xWrite(p->real, src, (int)(seg_end - pos), pos);
        } else {
            sqlite3_int64 frame = frame_of(pos);
            if (pos != payload_at(frame) || seg_end - pos != PAGE)
                return SQLITE_IOERR_WRITE; /* fail closed */
            rc = check_reserve(src);
            if (rc != SQLITE_OK)
                return rc;
            seal(p, (uint64_t)frame, src, p->page);
            rc = p->real->pMethods->xWrite(p->real, p->page, PAGE, pos);
        }
        if (rc != SQLITE_OK)
            return rc;
        pos = seg_end;
    }
    return SQLITE_OK;
}

static int x_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    crypt_file *p = (crypt_file *)f;
    return p->kind == KIND_DB ? db_read(p, buf, amt, off) : wal_read(p, buf, amt, off);
}

static int x_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    crypt_file *p = (crypt_file *)f;
    return p->kind == KIND_DB ? db_write(p, buf, amt, off) : wal_write(p, buf, amt, off);
}

static int x_close(sqlite3_file *f)
{
    crypt_file *p = (crypt_file *)f;
    if (p->kind == KIND_DB) {
        pthread_mutex_lock(&mains_lock);
        for (crypt_file **at = &mains; *at; at = &(*at)->next)
            if (*at == p) {
                *at = p->next;
                break;
            }
        pthread_mutex_unlock(&mains_lock);
    }
    int rc = p->real->pMethods->xClose(p->real);
    sodium_memzero(p->key, sizeof p->key);
    sodium_memzero(p->page, sizeof p->page);
    return rc;
}

/* The rest is the unix VFS's own behaviour. */
#define REAL(f) (((crypt_file *)(f))->real)
static int x_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }
static int x_sync(sqlite3_file *f, int flags) { return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int x_file_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int x_lock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xLock(REAL(f), lock); }
static int x_unlock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xUnlock(REAL(f), lock); }
static int x_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int x_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int x_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int x_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int x_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}
static int x_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void x_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int x_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }

/* Version 2: no xFetch, so SQLite never memory-maps the (encrypted) file. */
static const sqlite3_io_methods io_methods = {
    .iVersion = 2,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device,
    .xShmMap = x_shm_map,
    .xShmLock = x_shm_lock,
    .xShmBarrier = x_shm_barrier,
    .xShmUnmap = x_shm_unmap,
};

static int x_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)v;
    crypt_file *p = (crypt_file *)f;
    memset(p, 0, sizeof *p);
    int type = flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB |
                        SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |
                        SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL);
    if (!name)
        return SQLITE_CANTOPEN; /* a temp file: would hold plaintext */
    if (type == SQLITE_OPEN_MAIN_DB) {
        if (!pending_key)
            return SQLITE_CANTOPEN; /* not opened by og_docs_crypt_open */
        p->kind = KIND_DB;
        p->db_name = name;
        memcpy(p->key, pending_key, sizeof p->key);
    } else if (type == SQLITE_OPEN_WAL) {
        const char *db_name = sqlite3_filename_database(name);
        pthread_mutex_lock(&mains_lock);
        for (crypt_file *m = mains; m; m = m->next)
            if (m->db_name == db_name) {
                memcpy(p->key, m->key, sizeof p->key);
                p->kind = KIND_WAL;
            }
        pthread_mutex_unlock(&mains_lock);
        if (p->kind != KIND_WAL)
            return SQLITE_CANTOPEN;
    } else {
        return SQLITE_CANTOPEN; /* journals and temp files would hold plaintext */
    }
    p->real = (sqlite3_file *)((char *)p + REAL_OFFSET);
    int rc = base->xOpen(base, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        sodium_memzero(p->key, sizeof p->key);
        return rc;
    }
    p->base.pMethods = &io_methods;
    if (p->kind == KIND_DB) {
        pthread_mutex_lock(&mains_lock);
        p->next = mains;
        mains = p;
        pthread_mutex_unlock(&mains_lock);
    }
    return SQLITE_OK;
}

static int x_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return base->xDelete(base, name, sync);
}
static int x_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return base->xAccess(base, name, flags, out);
}
static int x_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return base->xFullPathname(base, name, n, out);
}
static void *x_dl_open(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return base->xDlOpen(base, name);
}
static void x_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    base->xDlError(base, n, msg);
}
static void (*x_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return base->xDlSym(base, h, sym);
}
static void x_dl_close(sqlite3_vfs *v, void *h)
{
    (void)v;
    base->xDlClose(base, h);
}
static int x_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xRandomness(base, n, out);
}
static int x_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return base->xSleep(base, us);
}
static int x_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return base->xCurrentTime(base, out);
}
static int x_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base->xGetLastError(base, n, out);
}
static int x_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return base->xCurrentTimeInt64(base, out);
}

static void register_vfs(void)
{
    base = sqlite3_vfs_find(NULL);
    if (!base || base->iVersion < 2 || !base->xCurrentTimeInt64)
        return;
    vfs.iVersion = 2;
    vfs.szOsFile = (int)(REAL_OFFSET + (size_t)base->szOsFile);
    vfs.mxPathname = base->mxPathname;
    vfs.zName = VFS_NAME;
    vfs.xOpen = x_open;
    vfs.xDelete = x_delete;
    vfs.xAccess = x_access;
    vfs.xFullPathname = x_full_pathname;
    vfs.xDlOpen = x_dl_open;
    vfs.xDlError = x_dl_error;
    vfs.xDlSym = x_dl_sym;
    vfs.xDlClose = x_dl_close;
    vfs.xRandomness = x_randomness;
    vfs.xSleep = x_sleep;
    vfs.xCurrentTime = x_current_time;
    vfs.xGetLastError = x_last_error;
    vfs.xCurrentTimeInt64 = x_current_time64;
    registered = sqlite3_vfs_register(&vfs, 0);
}

/* Whether page 2 of the database file authenticates with key: when page 1
 * does not, this tells a damaged page 1 from a wrong key. */
static int page2_ok(const char *path, const uint8_t *key)
{
    uint8_t page[PAGE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int ok = pread(fd, page, PAGE, PAGE) == PAGE && unseal(key, KIND_DB, 2, page) == 0;
    close(fd);
    sodium_memzero(page, sizeof page);
    return ok;
}

/* The error for a failed call on db (NULL: out of memory), naming the page
 * that failed authentication when that was the cause. */
static og_status fail(sqlite3 *db, const char *path, const char *label, const char *what, const uint8_t *key,
                      og_error *err)
{
    if (db && sqlite3_extended_errcode(db) == SQLITE_IOERR_DATA && last_bad.kind) {
        if (last_bad.kind == KIND_DB && last_bad.no == 1 && !page2_ok(path, key))
            return og_error_set(err, OG_ERR_KEY, "%s %s: wrong key, or not an encrypted offgrid database", label,
                                path);
        return og_error_set(err, OG_ERR_FORMAT, "%s %s: %s %llu %s fails authentication: the file is damaged", label,
                            path, last_bad.kind == KIND_DB ? "page" : "frame", (unsigned long long)last_bad.no,
                            last_bad.kind == KIND_DB ? "of the database" : "of its WAL");
    }
    return og_error_set(err, OG_ERR_IO, "%s %s: %s: %s", label, path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int open_conn(const char *path, const uint8_t *key, int flags, sqlite3 **db)
{
    pending_key = key;
    last_bad.kind = 0;
    int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_FULLMUTEX, VFS_NAME);
    pending_key = NULL;
    return rc;
}

static void remove_db_files(const char *path)
{
    char name[OG_FS_PATH_MAX];
    unlink(path);
    if (snprintf(name, sizeof name, "%s-wal", path) < (int)sizeof name)
        unlink(name);
    if (snprintf(name, sizeof name, "%s-shm", path) < (int)sizeof name)
        unlink(name);
}

/* Makes an empty encrypted database in WAL format at path: built beside
 * it under a temporary name with journal_mode OFF (switching a new file
 * to WAL from the default mode would write a rollback journal, in clear),
 * fsync'd, then linked into place, so a crash leaves no database or a
 * whole one. replace: path is an empty file to replace. */
static og_status create_db(const char *path, const uint8_t *key, int replace, const char *label, og_error *err)
{
    char tmp[OG_FS_PATH_MAX], dir[OG_FS_PATH_MAX];
    og_status st = og_fs_path(tmp, sizeof tmp, err, "%s.new-%ld", path, (long)getpid());
    if (st == OG_OK)
        st = og_fs_parent(path, dir, sizeof dir, err);
    if (st != OG_OK)
        return st;
    remove_db_files(tmp); /* a leftover of a crashed run of this pid */
    sqlite3 *db = NULL;
    int reserve = RESERVE;
    if (open_conn(tmp, key, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
        sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve) != SQLITE_OK)
        st = fail(db, tmp, label, "creating", key, err);
    else
        st = og_db_exec(db, label,
                        "PRAGMA temp_store=MEMORY; PRAGMA page_size=4096; PRAGMA journal_mode=OFF;"
                        " PRAGMA journal_mode=WAL",
                        err);
    if (sqlite3_close(db) != SQLITE_OK && st == OG_OK)
        st = og_error_set(err, OG_ERR_IO, "%s %s: cannot close the new database", label, tmp);
    struct stat sb;
    if (st == OG_OK && (stat(tmp, &sb) != 0 || sb.st_size != PAGE))
        st = og_error_set(err, OG_ERR_IO, "%s %s: the new database is %lld bytes, not one page", label, tmp,
                          (long long)sb.st_size);
    if (st == OG_OK) {
        int fd = open(tmp, O_RDWR | O_CLOEXEC);
        int ok = fd >= 0 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok || (replace ? rename(tmp, path) : link(tmp, path)) != 0) {
            if (ok && !replace && errno == EEXIST)
                ok = 1; /* another process made it first: open theirs */
            else
                st = og_error_set(err, OG_ERR_IO, "%s %s: cannot put the new database in place: %s", label, path,
                                  strerror(errno));
        }
    }
    remove_db_files(tmp);
    return st == OG_OK ? og_fs_sync_dir(dir, err) : st;
}

/* The connection settings of og_db_open, with temp files kept in memory
 * first of all; the file must already be in WAL format. */
static og_status configure(sqlite3 *db, const char *path, const char *label, const uint8_t *key, og_error *err)
{
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, path, label, "setting temp_store", key, err);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return fail(db, path, label, "prepare", key, err);
    int rc = sqlite3_step(st);
    char mode[16] = "";
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    og_status s = rc == SQLITE_ROW ? OG_OK : fail(db, path, label, "reading the journal mode", key, err);
    sqlite3_finalize(st);
    if (s == OG_OK && strcmp(mode, "wal") != 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s %s: journal mode is %s, not wal", label, path, mode);
    if (s == OG_OK && sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
                          SQLITE_OK)
        s = fail(db, path, label, "setting the pragmas", key, err);
    return s;
}

og_status og_docs_crypt_open(const char *db_path, const uint8_t key[OG_DOCS_KEY_BYTES], const char *label,
                             const char *const *migrations, int n_migrations, sqlite3 **out, og_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "libsodium could not initialise");
    pthread_once(&once, register_vfs);
    if (registered != SQLITE_OK)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s %s: cannot register the encrypting SQLite VFS", label,
                            db_path);
    uint8_t pk[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    crypto_kdf_derive_from_key(pk, sizeof pk, SUBKEY_PAGES, KDF_CONTEXT, key);
    og_status st = OG_OK;
    struct stat sb;
    char wal[OG_FS_PATH_MAX];
    if ((st = og_fs_path(wal, sizeof wal, err, "%s-wal", db_path)) != OG_OK) {
    } else if (stat(db_path, &sb) != 0) {
        st = errno == ENOENT ? create_db(db_path, pk, 0, label, err)
                             : og_error_set(err, OG_ERR_IO, "%s %s: %s", label, db_path, strerror(errno));
    } else if (sb.st_size == 0) {
        st = access(wal, F_OK) == 0
                 ? og_error_set(err, OG_ERR_FORMAT, "%s %s: the database is empty but has a WAL", label, db_path)
                 : create_db(db_path, pk, 1, label, err);
    }
    sqlite3 *db = NULL;
    if (st == OG_OK && open_conn(db_path, pk, SQLITE_OPEN_READWRITE, &db) != SQLITE_OK)
        st = fail(db, db_path, label, "cannot open", pk, err);
    if (st == OG_OK)
        st = configure(db, db_path, label, pk, err);
    if (st == OG_OK) {
        st = og_db_migrate(db, label, migrations, n_migrations, err);
        if (st != OG_OK && sqlite3_extended_errcode(db) == SQLITE_IOERR_DATA)
            st = fail(db, db_path, label, "migrating", pk, err);
        else if (st != OG_OK)
            og_error_prefix(err, "%s", db_path);
    }
    sodium_memzero(pk, sizeof pk);
    if (st != OG_OK) {
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return OG_OK;
}
