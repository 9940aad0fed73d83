// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: everything it prints.  Results go to standard output through
 * one emitter (out_*) that renders them as "key value" text lines or, with
 * --json, as one JSON object per line with every string escaped.  Messages
 * and errors go to standard error: "blksnapctl: text" lines, or with
 * --json one object per line, {"message":...} or
 * {"error":"ENAME","exit_code":N,"message":...}.  Exit codes come from the
 * errno of the failure (blksnapctl.8, EXIT STATUS).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blksnapctl.h"

int opt_json;

static const struct {
	int err;
	int code;
	const char *name;
} errtab[] = {
	{ EPERM, EX_PERM, "EPERM" },
	{ EACCES, EX_PERM, "EACCES" },
	{ ENOENT, EX_NOENT, "ENOENT" },
	{ ESRCH, EX_NOSNAP, "ESRCH" },
	{ ENODEV, EX_NOSNAP, "ENODEV" },
	{ ENXIO, EX_NOSNAP, "ENXIO" },
	{ EBUSY, EX_BUSY, "EBUSY" },
	{ EALREADY, EX_ALREADY, "EALREADY" },
	{ EINVAL, EX_INVAL, "EINVAL" },
	{ ENOSPC, EX_NOSPC, "ENOSPC" },
	{ EDQUOT, EX_NOSPC, "EDQUOT" },
	{ EFBIG, EX_NOSPC, "EFBIG" },
	{ ENOTBLK, EX_NOTBLK, "ENOTBLK" },
	{ ENOTTY, EX_NOTBLK, "ENOTTY" },
	{ EOPNOTSUPP, EX_NOTBLK, "EOPNOTSUPP" },
	{ EIO, EX_IO, "EIO" },
	{ EFAULT, EX_FAIL, "EFAULT" },
	{ ENOMEM, EX_FAIL, "ENOMEM" },
	{ ENODATA, EX_FAIL, "ENODATA" },
	{ EINTR, EX_FAIL, "EINTR" },
	{ EEXIST, EX_FAIL, "EEXIST" },
};

int errno_exit(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return errtab[i].code;
	return EX_FAIL;
}

const char *errno_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return errtab[i].name;
	return "E?";
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * One message on standard error: "blksnapctl: TEXT[TAIL]", or with --json
 * {"error":ERR,"exit_code":CODE,"message":TEXT} (@err NULL: a message only).
 */
static void message(const char *err, int code, const char *tail,
		    const char *fmt, va_list ap)
{
	char buf[8192];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (!opt_json) {
		fprintf(stderr, PROG ": %s%s\n", buf, tail);
		return;
	}
	fputc('{', stderr);
	if (err) {
		fprintf(stderr, "\"error\":");
		json_str(stderr, err);
		fprintf(stderr, ",\"exit_code\":%d,", code);
	}
	fprintf(stderr, "\"message\":");
	json_str(stderr, buf);
	fprintf(stderr, "}\n");
}

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(NULL, 0, "", fmt, ap);
	va_end(ap);
}

/* Print the failure and return the exit code of @err. */
int fail(int err, const char *fmt, ...)
{
	int code = errno_exit(err);
	va_list ap;

	va_start(ap, fmt);
	message(errno_name(err), code, "", fmt, ap);
	va_end(ap);
	return code;
}

/* Print a failure of no errno (@name, e.g. "no_module"); return @code. */
int fail_code(int code, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(name, code, "", fmt, ap);
	va_end(ap);
	return code;
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("usage", EX_USAGE, " (run: " PROG " --help)", fmt, ap);
	va_end(ap);
	return EX_USAGE;
}

/* The result being emitted: no field yet in the object / in the list. */
static int first_field, first_elem;

static void json_key(const char *key)
{
	if (!first_field)
		putchar(',');
	first_field = 0;
	json_str(stdout, key);
	putchar(':');
}

static int skip(unsigned int flags)
{
	return opt_json ? (flags & O_TEXT) : (flags & O_JSON);
}

void out_begin(void)
{
	first_field = 1;
	if (opt_json)
		putchar('{');
}

void out_end(void)
{
	if (opt_json)
		printf("}\n");
}

void out_str(unsigned int flags, const char *key, const char *val)
{
	if (skip(flags))
		return;
	if (opt_json) {
		json_key(key);
		json_str(stdout, val);
	} else if (flags & O_VALUE) {
		printf("%s\n", val);
	} else {
		printf("%s %s\n", key, val);
	}
}

void out_u64(unsigned int flags, const char *key, uint64_t v)
{
	if (skip(flags))
		return;
	if (opt_json) {
		json_key(key);
		printf("%llu", (unsigned long long)v);
	} else {
		printf("%s %llu\n", key, (unsigned long long)v);
	}
}

void out_s64(unsigned int flags, const char *key, int64_t v)
{
	if (skip(flags))
		return;
	if (opt_json) {
		json_key(key);
		printf("%lld", (long long)v);
	} else {
		printf("%s %lld\n", key, (long long)v);
	}
}

void out_bool(unsigned int flags, const char *key, int v)
{
	if (skip(flags))
		return;
	if (opt_json) {
		json_key(key);
		printf("%s", v ? "true" : "false");
	} else {
		printf("%s %s\n", key, v ? "yes" : "no");
	}
}

void out_list_begin(const char *key)
{
	first_elem = 1;
	if (opt_json) {
		json_key(key);
		putchar('[');
	}
}

void out_list_str(const char *v)
{
	if (!opt_json) {
		printf("%s\n", v);
		return;
	}
	if (!first_elem)
		putchar(',');
	first_elem = 0;
	json_str(stdout, v);
}

void out_list_u64s(int n, const uint64_t *v)
{
	const char *sep = opt_json ? "," : " ";
	int i;

	if (opt_json)
		printf("%s[", first_elem ? "" : ",");
	first_elem = 0;
	for (i = 0; i < n; i++)
		printf("%s%llu", i ? sep : "", (unsigned long long)v[i]);
	fputs(opt_json ? "]" : "\n", stdout);
}

void out_list_end(void)
{
	if (opt_json)
		putchar(']');
}

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (opt_json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
