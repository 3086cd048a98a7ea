/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-grubcfg.c — grub.cfg's default entry, the per-trial menu entry and grubenv (grubcfg.c),
 *  checked against GRUB's own tools where they are installed: grub-script-check reads the trial
 *  file, grub-editenv lists the environment block iommuctl writes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grubcfg.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	fwrite(data, 1, len, f);
	fclose(f);
}

/* The output of a shell command, trailing newline cut. */
static char *run(const char *cmd)
{
	static char out[4096];
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	if (pclose(p) != 0)
		return NULL;
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

int main(int argc, char **argv)
{
	char path[4096], why[512], tmp[] = "/tmp/test-grubcfg.XXXXXX", file[4200], cmd[8600];
	struct grubcfg_entry def = { 0 };
	char *cfg, *text, *env = NULL, *env2 = NULL, *v;
	int k;

	snprintf(path, sizeof(path), "%s/boot/debian12-grub.cfg", argc > 1 ? argv[1] : "fixtures");
	cfg = slurp(path);
	ok(cfg != NULL, "read %s", path);
	if (!cfg)
		return tap_done();
	if (!mkdtemp(tmp))
		return 1;

	k = grubcfg_default_entry(cfg, NULL, &def, why, sizeof(why));
	ok(k == 0, "the default entry of Debian 12's grub.cfg (default=\"0\") is found (%d %s)", k, why);
	is_str(def.title, "Debian GNU/Linux", "its title is the first top-level menuentry's, not the submenu's");
	is_str(def.kernel, "/boot/vmlinuz-6.1.0-27-amd64", "its kernel");
	is_str(def.args, "root=UUID=2d6d8f5c-7a3e-4a8e-9a57-1c3f6b0e9d11 ro  quiet", "its arguments, as written");
	ok(def.body && strstr(def.body, "search --no-floppy --fs-uuid --set=root 2d6d8f5c") &&
	   strstr(def.body, "initrd\t/boot/initrd.img-6.1.0-27-amd64") && !strstr(def.body, "single"),
	   "its body keeps the search and initrd lines, and nothing of the submenu");

	text = grubcfg_trial_file(&def, "iommuctl-trial", "iommuctl trial 7 (Debian GNU/Linux)",
				  "root=UUID=2d6d8f5c-7a3e-4a8e-9a57-1c3f6b0e9d11 ro quiet iommuctl.trial=7 panic=10",
				  "# comment\n");
	ok(text && strstr(text, "menuentry 'iommuctl trial 7 (Debian GNU/Linux)' --id iommuctl-trial {\n"),
	   "the trial file has one menuentry with --id iommuctl-trial");
	ok(text && strstr(text, "\tlinux\t/boot/vmlinuz-6.1.0-27-amd64 root=UUID=2d6d8f5c-7a3e-4a8e-9a57-1c3f6b0e9d11 "
			  "ro quiet iommuctl.trial=7 panic=10\n"), "its linux line is the default's kernel with the trial's line");
	if (have("grub-script-check")) {
		snprintf(file, sizeof(file), "%s/iommuctl-trial.cfg", tmp);
		write_file(file, text, strlen(text));
		snprintf(cmd, sizeof(cmd), "grub-script-check %s", file);
		ok(system(cmd) == 0, "grub-script-check accepts the trial file");
		write_file(file, "menuentry 'x' --id y {\n linux /v\n", 31);
		ok(system(cmd) != 0, "grub-script-check refuses an unclosed entry (the oracle can fail)");
	} else {
		printf("ok %d # SKIP grub-script-check is not installed\n", ++tap_n);
		printf("ok %d # SKIP grub-script-check is not installed\n", ++tap_n);
	}
	free(text);
	grubcfg_entry_clear(&def);

	/* savedefault in the default entry (GRUB_SAVEDEFAULT=true) must not reach the trial entry. */
	{
		const char *saved_cfg = "set default=\"${saved_entry}\"\nmenuentry 'D' --class x {\n\tsavedefault\n"
					"\tlinux /vmlinuz root=/dev/sda1 ro\n}\n";

		k = grubcfg_default_entry(saved_cfg, "0", &def, why, sizeof(why));
		ok(k == 0, "GRUB_DEFAULT=saved with saved_entry=0 boots the first entry");
		text = k == 0 ? grubcfg_trial_file(&def, "iommuctl-trial", "t", "root=/dev/sda1 ro x=1", NULL) : NULL;
		ok(text && !strstr(text, "savedefault") && strstr(text, "linux /vmlinuz root=/dev/sda1 ro x=1\n"),
		   "savedefault is left out of the trial entry");
		free(text);
		grubcfg_entry_clear(&def);
		k = grubcfg_default_entry(saved_cfg, NULL, &def, why, sizeof(why));
		ok(k == 0, "GRUB_DEFAULT=saved with no saved_entry boots the first entry");
		grubcfg_entry_clear(&def);
		k = grubcfg_default_entry(saved_cfg, "gnulinux-advanced-x>gnulinux-6.1-x", &def, why, sizeof(why));
		ok(k == -EOPNOTSUPP && strstr(why, "saved_entry=gnulinux-advanced-x>gnulinux-6.1-x"),
		   "another saved entry is refused, named (%s)", why);
		k = grubcfg_default_entry("set default=\"2\"\nmenuentry 'a' {\nlinux /v\n}\n", NULL, &def, why, sizeof(why));
		ok(k == -EOPNOTSUPP, "GRUB_DEFAULT=2 is refused");
		k = grubcfg_default_entry("set default=\"0\"\nsubmenu 'a' {\nmenuentry 'b' {\nlinux /v\n}\n}\n", NULL, &def,
					  why, sizeof(why));
		ok(k == -ENOENT, "a menuentry only inside a submenu is not the default");
	}

	ok(grubcfg_has_line("x\n  source \"$prefix/iommuctl-trial.cfg\"\n", "source \"$prefix/iommuctl-trial.cfg\""),
	   "the marker line is found, indented");
	ok(!grubcfg_has_line("# source \"$prefix/iommuctl-trial.cfg\"\n", "source \"$prefix/iommuctl-trial.cfg\""),
	   "a commented marker is not");

	/* grubenv: what iommuctl writes, read by grub-editenv; and the other way round. */
	k = grubenv_set(NULL, 0, "next_entry", "iommuctl-trial", &env);
	ok(k == 0 && env && strlen(env) == GRUBENV_SIZE, "a new environment block is 1024 bytes");
	snprintf(file, sizeof(file), "%s/grubenv", tmp);
	if (have("grub-editenv") && env) {
		write_file(file, env, GRUBENV_SIZE);
		snprintf(cmd, sizeof(cmd), "grub-editenv %s list", file);
		v = run(cmd);
		is_str(v, "next_entry=iommuctl-trial", "grub-editenv lists next_entry in the block iommuctl wrote");
		snprintf(cmd, sizeof(cmd), "grub-editenv %s create && grub-editenv %s set saved_entry=2 next_entry=x",
			 file, file);
		ok(system(cmd) == 0, "grub-editenv writes a block with two variables");
		free(env);
		env = slurp(file);
		v = env ? grubenv_get(env, GRUBENV_SIZE, "saved_entry") : NULL;
		is_str(v, "2", "grubenv_get reads grub-editenv's saved_entry");
		free(v);
		k = grubenv_set(env, GRUBENV_SIZE, "next_entry", NULL, &env2);
		ok(k == 0, "next_entry unset");
		if (k == 0) {
			write_file(file, env2, GRUBENV_SIZE);
			snprintf(cmd, sizeof(cmd), "grub-editenv %s list", file);
			v = run(cmd);
			is_str(v, "saved_entry=2", "grub-editenv sees saved_entry kept and next_entry gone");
		}
	} else {
		for (int i = 0; i < 5; i++)
			printf("ok %d # SKIP grub-editenv is not installed\n", ++tap_n);
	}
	free(env2);
	env2 = NULL;
	ok(grubenv_set("not an env", 10, "next_entry", "x", &env2) == -EBADMSG, "a file that is no env block is refused");
	ok(grubenv_set(NULL, 0, "next_entry", "a\nb", &env2) == -EINVAL, "a value with a newline is refused");
	{
		char big[1100];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ok(grubenv_set(NULL, 0, "next_entry", big, &env2) == -E2BIG, "a value that does not fit is refused");
	}
	free(env);
	free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
