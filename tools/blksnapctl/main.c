// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: command-line front end of the blksnap module: change-block
 * tracking, snapshots, their difference storage, and full or incremental
 * backups of snapshot images.  See blksnapctl.8.  main() dispatches to the
 * command groups: cmd_cbt.c, cmd_snapshot.c, storage.c, backup.c; options
 * are parsed in options.c, everything is printed by output.c, and the
 * kernel is reached through libblksnap (lib/) and the device layer
 * (dev.c, or fake_dev.c in the host tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "blksnapctl.h"

#ifndef BLKSNAPCTL_VERSION
#define BLKSNAPCTL_VERSION "unknown"
#endif

/*
 * The tool's version (the project's release, from NEWS at build time),
 * and the module's interface version when the module is loaded.
 */
static int cmd_version(int argc, char **argv)
{
	struct blksnap_version v;
	char *pos[1], module[64];
	int n, cfd, ret;

	if (argv) {
		ret = parse_opts(argc, argv, NULL, pos, &n, 0);
		if (ret)
			return ret;
	}
	module[0] = 0;
	ret = -ENXIO;
	/* through the device layer (the host tests' fake has a module) */
	if (module_loaded() && !ctl_open(&cfd)) {
		ret = blksnap_version(cfd, &v);
		close(cfd);
	}
	if (!ret)
		snprintf(module, sizeof(module), "%u.%u.%u.%u", v.major,
			 v.minor, v.revision, v.build);
	out_begin();
	out_str(O_JSON, "tool", BLKSNAPCTL_VERSION);
	if (module[0])
		out_str(O_JSON, "module", module);
	out_bool(O_JSON, "module_loaded", module[0] != 0);
	if (module[0])
		out_text(PROG " %s, module interface %s\n",
			 BLKSNAPCTL_VERSION, module);
	else
		out_text(PROG " %s, module not loaded (modprobe blksnap)\n",
			 BLKSNAPCTL_VERSION);
	out_end();
	return EX_OK;
}

/* One line per command form; "CMD --help" prints the lines of CMD. */
static const char *const usage_lines[] = {
	"attach DEV | detach DEV",
	"cbtinfo DEV",
	"cbtmap DEV [--offset BLOCK] [--length BLOCKS] [-o FILE]",
	"markdirty DEV START:COUNT...          (512-byte sectors)",
	"snapshot create [DEV...]              prints the UUID",
	"snapshot add UUID DEV [--attach]",
	"snapshot append UUID DEV [START:COUNT...] [--force]  (a whole device: refused if mounted, held or signed)",
	"snapshot append UUID FILE --size SIZE [--force]  (a new file)",
	"snapshot take UUID [--wait-storage [--timeout SECONDS]]",
	"snapshot info DEV",
	"snapshot collect",
	"snapshot wait UUID [--timeout MS]",
	"snapshot destroy UUID [--keep]",
	"watch UUID --dir DIR|--device DEV[:START:COUNT] --step SIZE --limit SIZE [--timeout SECONDS] [--force]",
	"backup full UUID|DEV|IMAGE -o FILE [--state STATEFILE] [--verify]",
	"backup incremental DEV [IMAGE] --base FILE --state STATEFILE [--verify]",
	"version                                tool version, and the module's if loaded",
	"status                                devices, snapshots, storage fill",
};

/* @line is a form of @cmd: it starts with "CMD " or holds "| CMD ". */
static int is_form_of(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);
	const char *bar = strstr(line, "| ");

	if (!strncmp(line, cmd, n) && (!line[n] || line[n] == ' '))
		return 1;
	return bar && !strncmp(bar + 2, cmd, n) &&
	       (!bar[2 + n] || bar[2 + n] == ' ');
}

/* The usage of @cmd ("snapshot take"), or of every command (@cmd NULL). */
void usage_of(FILE *f, const char *cmd)
{
	size_t i, shown = 0;

	for (i = 0; cmd && i < ARRAY_SIZE(usage_lines); i++) {
		if (!is_form_of(usage_lines[i], cmd))
			continue;
		fprintf(f, "usage: " PROG " [--json] %s\n", usage_lines[i]);
		shown++;
	}
	if (!shown) {
		fprintf(f, "usage: " PROG " [--json] COMMAND ...\n");
		for (i = 0; i < ARRAY_SIZE(usage_lines); i++)
			fprintf(f, "  %s\n", usage_lines[i]);
	}
	fprintf(f, "Numbers: decimal, or hex with 0x.  SIZE: bytes, or with a suffix s (sectors), K, M, G, T.\n"
		"See blksnapctl(8).\n");
}

static int run(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "attach", cmd_attach },
		{ "detach", cmd_detach },
		{ "snapshot", cmd_snapshot },
		{ "cbtinfo", cmd_cbtinfo },
		{ "cbtmap", cmd_cbtmap },
		{ "markdirty", cmd_markdirty },
		{ "watch", cmd_watch },
		{ "backup", cmd_backup },
		{ "version", cmd_version },
		{ "status", cmd_status },
	};
	size_t i;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--json")) {
			opt_json = 1;
		} else if (!strcmp(argv[1], "-h") ||
			   !strcmp(argv[1], "--help")) {
			usage_of(stdout, NULL);
			return EX_OK;
		} else if (!strcmp(argv[1], "-V") ||
			   !strcmp(argv[1], "--version")) {
			return cmd_version(0, NULL);
		} else {
			return usage_err("unknown option '%s'", argv[1]);
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage_of(stderr, NULL);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "help")) {
		usage_of(stdout, argc > 2 ? argv[2] : NULL);
		return EX_OK;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		set_help_cmd(cmds[i].name);
		return cmds[i].fn(argc - 2, argv + 2);
	}
	return usage_err("unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = run(argc, argv);
	return ret == EX_HELP ? EX_OK : ret;
}
