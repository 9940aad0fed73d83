// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the command line: options of a command, numbers, sizes,
 * sector ranges and snapshot ids, and per-command --help.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blksnapctl.h"

/* The command being parsed, for --help (set by the dispatchers). */
static const char *help_cmd;

void set_help_cmd(const char *cmd)
{
	help_cmd = cmd;
}

/* @a asks for help: print the usage of @cmd, 1; else 0. */
int help_asked(const char *a, const char *cmd)
{
	if (strcmp(a, "--help") && strcmp(a, "-h"))
		return 0;
	usage_of(stdout, cmd);
	return 1;
}

/*
 * Options anywhere among the arguments; "--" ends them.  --json and --help
 * are known to every command.  Returns 0, EX_USAGE (message printed) or
 * EX_HELP (the command's usage printed; main() exits 0).
 */
int parse_opts(int argc, char **argv, const struct optdef *defs,
	       char **pos, int *npos, int maxpos)
{
	int i, only_pos = 0;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		const struct optdef *d;
		char *a = argv[i], *val = NULL;
		size_t len;

		if (only_pos || a[0] != '-' || !a[1]) {
			if (*npos >= maxpos)
				return usage_err("too many arguments at '%s'",
						 a);
			pos[(*npos)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--json")) {
			opt_json = 1;
			continue;
		}
		if (help_asked(a, help_cmd))
			return EX_HELP;
		for (d = defs; d && d->name; d++) {
			if (a[1] == '-') {
				len = strlen(d->name);
				if (strncmp(a + 2, d->name, len))
					continue;
				if (a[2 + len] == '=')
					val = a + 3 + len;
				else if (a[2 + len])
					continue;
				break;
			}
			if (d->short_name && a[1] == d->short_name) {
				if (a[2])
					val = a + 2;
				break;
			}
		}
		if (!d || !d->name)
			return usage_err("unknown option '%s'", a);
		if (!d->has_arg) {
			if (val)
				return usage_err("option '%s' takes no value",
						 a);
			*d->flag = 1;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return usage_err("option '%s' needs a value",
						 a);
			val = argv[++i];
		}
		*d->value = val;
	}
	return 0;
}

/*
 * parse_opts() for a command that takes exactly @npos positional
 * arguments; any other count prints "@what needs ..." as a usage error.
 * Returns 0 or EX_USAGE.
 */
int parse_exact(int argc, char **argv, const struct optdef *defs,
		char **pos, int npos, const char *what)
{
	int n, ret;

	ret = parse_opts(argc, argv, defs, pos, &n, npos);
	if (ret)
		return ret;
	if (n != npos)
		return usage_err("%s", what);
	return 0;
}

/*
 * The one number parser of every numeric argument: decimal digits, or
 * hexadecimal after an explicit "0x"; never octal (strtoull's base 0 reads
 * a zero-padded 0001000 as 512).  No sign, no space.  *@end: what follows.
 */
static int parse_num(const char *s, uint64_t *v, const char **end)
{
	int base = 10;
	char *e;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
	} else if (!isdigit((unsigned char)*s)) {
		return -EINVAL;
	}
	errno = 0;
	*v = strtoull(s, &e, base);
	if (errno)
		return -EINVAL;
	*end = e;
	return 0;
}

int parse_u64(const char *s, uint64_t *v)
{
	const char *end;

	if (parse_num(s, v, &end) || *end)
		return -EINVAL;
	return 0;
}

/* "4096", "64K", "16M", "2G", "1T" (binary), "100s" (sectors). */
int parse_size(const char *s, uint64_t *v)
{
	unsigned int shift = 0;
	const char *end;
	uint64_t n;

	if (parse_num(s, &n, &end))
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'S':
		shift = 9;
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end || (shift && n > (UINT64_MAX >> shift)))
		return -EINVAL;
	*v = n << shift;
	return 0;
}

/* "START:COUNT" in 512-byte sectors. */
int parse_range(const char *s, struct blksnap_sectors *r)
{
	char buf[64], *colon;
	uint64_t a, b;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (parse_u64(buf, &a) || parse_u64(colon + 1, &b) || !b ||
	    a + b < a)
		return -EINVAL;
	r->offset = a;
	r->count = b;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 32 hex digits, dashes anywhere ignored. */
int uuid_parse(const char *s, struct blksnap_uuid *id)
{
	int n = 0, hi, lo;

	while (*s && n < UUID_SIZE) {
		if (*s == '-') {
			s++;
			continue;
		}
		hi = hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (lo < 0)
			return -EINVAL;
		id->b[n++] = hi << 4 | lo;
		s += 2;
	}
	return n == UUID_SIZE && !*s ? 0 : -EINVAL;
}

void uuid_format(const struct blksnap_uuid *id, char *buf)
{
	const uint8_t *b = id->b;

	sprintf(buf,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15]);
}

