/* Typing of nodes with libmagic: the system's database plus fwgate's own
 * magic for firmware formats it misses (scanner/firmware.magic, compiled
 * with file -C at build time and embedded in the binary), and the map from MIME type to the policy's file types.
 * Runs in scanner workers only; must not decide verdicts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <magic.h>

#include "fwgate/fileio.h"
#include "scanner/scan_int.h"


/* The system's compiled database; the first that exists is used. */
static const char *const system_mgc[] = { "/usr/share/misc/magic.mgc", "/usr/lib/file/magic.mgc" };
#define SYSTEM_MGC_MAX_BYTES (64u * 1024 * 1024)
#define TYPE_BYTES_MAX (64 * 1024)

struct scan_typer {
	magic_t m;
	uint8_t *system_db;   /* must outlive m: libmagic keeps pointers into it */
	size_t system_len;
	void *own_db;         /* a writable copy of the embedded database */
};

int scan_typer_new(struct scan_typer **out, struct fw_err *err)
{
	struct scan_typer *t = NULL;
	void *bufs[2];
	size_t sizes[2];
	int rc = -1;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return fw_err_set(err, "out of memory");
	for (size_t i = 0; i < FW_ARRAY_LEN(system_mgc) && t->system_db == NULL; i++)
		if (access(system_mgc[i], R_OK) == 0 &&
		    fw_file_read(system_mgc[i], SYSTEM_MGC_MAX_BYTES, &t->system_db, &t->system_len, err) != 0)
			goto out;
	if (t->system_db == NULL) {
		fw_err_set(err, "libmagic's database is missing (%s): install the Debian package libmagic-mgc",
			   system_mgc[0]);
		goto out;
	}
	t->own_db = malloc(scan_embedded_magic_len);
	if (t->own_db == NULL) {
		fw_err_set(err, "out of memory");
		goto out;
	}
	memcpy(t->own_db, scan_embedded_magic, scan_embedded_magic_len);
	/* No decompression by libmagic: unpacking is libarchive's, under
	 * fwgate's limits. */
	t->m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (t->m == NULL) {
		fw_err_sys(err, errno, "libmagic cannot start");
		goto out;
	}
	bufs[0] = t->system_db;
	sizes[0] = t->system_len;
	bufs[1] = t->own_db;
	sizes[1] = scan_embedded_magic_len;
	/* Bounded reads: libmagic looks at most this far into a node, from
	 * its start and from its end (x86 reset vectors live there). */
	if (magic_setparam(t->m, MAGIC_PARAM_BYTES_MAX, &(size_t){ TYPE_BYTES_MAX }) != 0) {
		fw_err_set(err, "libmagic refuses its read bound");
		goto out;
	}
	if (magic_load_buffers(t->m, bufs, sizes, 2) != 0) {
		fw_err_set(err, "libmagic cannot load its databases: %s",
			   magic_error(t->m) ? magic_error(t->m) : "unknown error");
		goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	scan_typer_free(t);
	return rc;
}

void scan_typer_free(struct scan_typer *t)
{
	if (t == NULL)
		return;
	if (t->m != NULL)
		magic_close(t->m);
	free(t->system_db);
	free(t->own_db);
	free(t);
}

void scan_typer_mime_fd(struct scan_typer *t, int fd, uint64_t size, char *mime, size_t mime_len)
{
	const char *r = "application/x-empty";

	/* libmagic reads from the descriptor's offset, and a member's file
	 * has just been written: from its start. */
	if (size > 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = "application/octet-stream";
	else if (size > 0)
		r = magic_descriptor(t->m, fd);

	if (r == NULL || snprintf(mime, mime_len, "%s", r) >= (int)mime_len)
		snprintf(mime, mime_len, "%s", "application/octet-stream");
}

static const char *const archive_mimes[] = {
	"application/zip", "application/x-tar", "application/gzip", "application/x-gzip",
	"application/x-xz", "application/x-bzip2", "application/zstd", "application/x-zstd",
	"application/x-7z-compressed", "application/x-iso9660-image", "application/x-rar",
	"application/vnd.rar", "application/x-cpio", "application/vnd.ms-cab-compressed",
	"application/x-archive", "application/x-lha", "application/x-lharc", "application/x-rpm",
	"application/x-xar", "application/x-lz4", "application/x-lzip", "application/x-lzma",
	"application/x-compress", "application/java-archive", "application/x-debian-package",
};

bool scan_mime_is_archive(const char *mime)
{
	for (size_t i = 0; i < FW_ARRAY_LEN(archive_mimes); i++)
		if (strcmp(mime, archive_mimes[i]) == 0)
			return true;
	return false;
}

/* Firmware by libmagic's own names: PCI and ISA option ROMs. */
static const char *const firmware_mimes[] = { "application/x-ibm-rom" };

static const char *const pe_mimes[] = {
	"application/x-dosexec", "application/vnd.microsoft.portable-executable",
	"application/x-msdownload", "application/x-ms-installer",
};

const char *scan_file_type(const char *mime)
{
	/* fwgate's own magic names every firmware format it knows with this
	 * prefix (scanner/firmware.magic). */
	if (strncmp(mime, "application/x-fwgate-firmware", 29) == 0)
		return "firmware_image";
	for (size_t i = 0; i < FW_ARRAY_LEN(firmware_mimes); i++)
		if (strcmp(mime, firmware_mimes[i]) == 0)
			return "firmware_image";
	for (size_t i = 0; i < FW_ARRAY_LEN(pe_mimes); i++)
		if (strcmp(mime, pe_mimes[i]) == 0)
			return "pe";
	if (scan_mime_is_archive(mime))
		return "archive";
	return "other";
}
