/*
 * data_dir_check.c: the data folder's check at start (data_dir_check.h).
 *
 * What it does: makes the folder (one level, as the broker always did),
 * then asks the I/O seam who owns it and whether this process may write it,
 * then writes, syncs, renames and removes a probe file the way a segment
 * and a checkpoint are written, then checks the free space. Each failure
 * names the step, and where the fix is a matter of ownership, the owner,
 * the process's ids and the pod setting (fsGroup) that gives them access.
 *
 * What it owns: the probe file, for the length of the check.
 */
#include "server/data_dir_check.h"

#include "base/limits.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MOD "storage"
#define PROBE_NAME ".runnel-start-check"
#define PROBE_RENAMED ".runnel-start-check.renamed"
#define PROBE_BYTES 4096

static uint64_t mib(uint64_t bytes) { return bytes >> 20; }

/* The line for a folder this process may not write. */
static rn_err_t not_writable(const char *dir, const rn_io_path_info_t *info, char *why,
                             size_t why_len) {
    snprintf(why, why_len,
             "data folder %s is not writable by this process (uid %" PRIu32 ", gid %" PRIu32
             "): it is owned by uid %" PRIu32 " gid %" PRIu32 " with mode %04" PRIo32
             ". Give it to the broker's user (chown -R %" PRIu32 ":%" PRIu32
             " %s), or on Kubernetes set the pod's securityContext.fsGroup: %" PRIu32
             " so the volume is made writable by that group",
             dir, info->proc_uid, info->proc_gid, info->uid, info->gid, info->mode, info->proc_uid,
             info->proc_gid, dir, info->proc_gid);
    return RN_ERR_IO;
}

static rn_err_t step_failed(const char *dir, const char *step, rn_err_t err, char *why,
                            size_t why_len) {
    if (err == RN_ERR_NO_SPACE)
        snprintf(why, why_len,
                 "data folder %s is full: %s failed (no space left). Free space on its volume or "
                 "give it a larger one (on Kubernetes, a larger PersistentVolumeClaim)",
                 dir, step);
    else
        snprintf(why, why_len,
                 "data folder %s: %s failed (%s): the broker needs a local file system where "
                 "files can be created, synced and renamed; check the volume mounted there and "
                 "the kernel log",
                 dir, step, rn_err_name(err));
    return err;
}

/* Write, sync, rename, sync the folder, remove: what every segment and
   checkpoint write relies on. */
static rn_err_t probe_writes(rn_io_t *io, const char *dir, char *why, size_t why_len) {
    char path[RN_STORAGE_PATH_BYTES_MAX], renamed[RN_STORAGE_PATH_BYTES_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, PROBE_NAME);
    snprintf(renamed, sizeof renamed, "%s/%s", dir, PROBE_RENAMED);
    rn_fd_t fd = RN_FD_NONE;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_WRITE | RN_IO_CREATE | RN_IO_TRUNC, &fd);
    if (err != RN_OK) return step_failed(dir, "creating a file", err, why, why_len);
    static const char zeros[PROBE_BYTES];
    struct iovec iov = {(void *)zeros, sizeof zeros};
    const char *step = "writing a file";
    err = rn_io_file_pwritev(io, fd, &iov, 1, 0);
    if (err == RN_OK) {
        step = "syncing a file";
        err = rn_io_file_sync(io, fd);
    }
    rn_io_file_close(io, fd);
    if (err == RN_OK) {
        step = "renaming a file";
        err = rn_io_rename(io, path, renamed);
    }
    if (err == RN_OK) {
        step = "syncing the folder";
        err = rn_io_dir_sync(io, dir);
    }
    rn_err_t removed = rn_io_unlink(io, err == RN_OK ? renamed : path);
    if (err == RN_OK && removed != RN_OK) {
        step = "removing a file";
        err = removed;
    }
    if (err == RN_OK) (void)rn_io_dir_sync(io, dir);
    return err == RN_OK ? RN_OK : step_failed(dir, step, err, why, why_len);
}

static rn_err_t check_space(rn_io_t *io, const char *dir, char *why, size_t why_len) {
    uint64_t total = 0, usable = 0;
    if (rn_io_fs_space(io, dir, &total, &usable) != RN_OK) return RN_OK; /* nothing to tell */
    if (usable < RN_DATA_DIR_FREE_MIN_BYTES) {
        snprintf(why, why_len,
                 "data folder %s has %" PRIu64 " MiB free of %" PRIu64
                 " MiB: the broker needs at least %" PRIu64
                 " MiB free to start. Free space on its volume (shorter retention.ms or "
                 "retention.bytes once started) or give it a larger one (on Kubernetes, a larger "
                 "PersistentVolumeClaim)",
                 dir, mib(usable), mib(total), mib(RN_DATA_DIR_FREE_MIN_BYTES));
        return RN_ERR_NO_SPACE;
    }
    if (total > 0 && usable * 100 < total * RN_DATA_DIR_FREE_WARN_PERCENT)
        RN_WARN(MOD, "data folder %s has %" PRIu64 " MiB free of %" PRIu64 " MiB (under %d%%)", dir,
                mib(usable), mib(total), RN_DATA_DIR_FREE_WARN_PERCENT);
    return RN_OK;
}

rn_err_t rn_data_dir_check(rn_io_t *io, const char *dir, char *why, size_t why_len) {
    rn_io_path_info_t info;
    rn_err_t err = rn_io_dir_create(io, dir);
    if (err != RN_OK) {
        /* Most often the parent refuses us: say whose it is. */
        char parent[RN_STORAGE_PATH_BYTES_MAX];
        snprintf(parent, sizeof parent, "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = '\0';
        if (slash && rn_io_path_info(io, parent, &info) == RN_OK && !info.writable)
            return not_writable(parent, &info, why, why_len);
        return step_failed(dir, "creating the folder", err, why, why_len);
    }
    bool known = rn_io_path_info(io, dir, &info) == RN_OK;
    if (known && !info.writable) return not_writable(dir, &info, why, why_len);
    if (known && info.network_fs)
        RN_WARN(MOD,
                "data folder %s is on %s, a network file system: fsync and rename there do not "
                "promise what they do on a local disk, so an acknowledged record may be lost when "
                "the server or the network fails; use a local or block volume (on Kubernetes, a "
                "ReadWriteOnce volume from a block-storage class)",
                dir, info.fs_name);
    err = probe_writes(io, dir, why, why_len);
    if (err == RN_OK) err = check_space(io, dir, why, why_len);
    return err;
}
