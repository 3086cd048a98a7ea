/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hooks.c — run update-grub, proxmox-boot-tool and update-initramfs safely, and record them.
 *  Owns: running the refresh commands and their journal records. Must not: decide which hooks a
 *  change needs (plan_hooks_for() does) or edit files. */
#include <fcntl.h>
#include <ini.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"
#include "strbuf.h"

static const char *const hook_names[] = { HOOK_UPDATE_GRUB, HOOK_PROXMOX_BOOT_TOOL, HOOK_UPDATE_INITRAMFS,
					  HOOK_ETCKEEPER };
static const char *const hook_defaults[] = {
	"/usr/sbin/update-grub",
	"/usr/sbin/proxmox-boot-tool refresh",
	"/usr/sbin/update-initramfs -u -k all",
	"/usr/bin/etckeeper",
};
#define HOOK_OUTPUT_MAX (4u << 20)

static void argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Split a command at blanks; iommuctl.conf values are never given to a shell. */
static int argv_split(const char *s, char ***ret)
{
	char **argv = NULL;
	size_t n = 0;

	for (;;) {
		size_t len;
		char **nv;

		s += strspn(s, " \t");
		if (!*s)
			break;
		len = strcspn(s, " \t");
		nv = realloc(argv, (n + 2) * sizeof(char *));
		if (!nv) {
			argv_free(argv);
			return -ENOMEM;
		}
		argv = nv;
		argv[n] = strndup(s, len);
		argv[++n] = NULL;
		if (!argv[n - 1]) {
			argv_free(argv);
			return -ENOMEM;
		}
		s += len;
	}
	if (!n)
		return -EINVAL;
	*ret = argv;
	return 0;
}

void hook_config_clear(struct hook_config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->argv); i++)
		argv_free(c->argv[i]);
	memset(c, 0, sizeof(*c));
}

struct ini_state {
	struct hook_config *config;
	char reason[256];
};

static int on_ini_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_state *st = user;

	if (!streq(section, "hooks")) {
		snprintf(st->reason, sizeof(st->reason), "unknown section [%s]; only [hooks] is known", section);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hook_names); i++) {
		char **argv;

		if (!streq(key, hook_names[i]))
			continue;
		if (!value || value[0] != '/') {
			snprintf(st->reason, sizeof(st->reason), "%s must be an absolute path and its arguments", key);
			return 0;
		}
		if (argv_split(value, &argv) < 0) {
			snprintf(st->reason, sizeof(st->reason), "%s: cannot split '%s'", key, value);
			return 0;
		}
		argv_free(st->config->argv[i]);
		st->config->argv[i] = argv;
		return 1;
	}
	snprintf(st->reason, sizeof(st->reason),
		 "unknown key '%s'; known: update-grub, proxmox-boot-tool, update-initramfs", key);
	return 0;
}

/* libinih reads at most INI_MAX_LINE - 1 bytes of a line at once and takes the
 * rest for a line of its own (at exactly that length, only the newline, which
 * still shifts every later line number); a NUL ends its reading of the file.
 * The first line of such a file that cannot be read as written, or 0. */
static int unreadable_line(const struct file_state *fs, char *reason, size_t size)
{
	int line = 1;

	for (size_t pos = 0; pos < fs->len; line++) {
		const char *nl = memchr(fs->data + pos, '\n', fs->len - pos);
		size_t end = nl ? (size_t)(nl - fs->data) : fs->len;

		if (memchr(fs->data + pos, '\0', end - pos))
			return snprintf(reason, size, "line contains a NUL byte"), line;
		if (end - pos > INI_MAX_LINE - 2)
			return snprintf(reason, size, "line is longer than %d characters", INI_MAX_LINE - 2), line;
		pos = end + 1;
	}
	return 0;
}

int hook_config_load(const struct rootfs *r, struct hook_config *ret, struct error *e)
{
	struct hook_config c = { 0 };
	struct ini_state st = { .config = &c };
	struct file_state fs;
	int k, line;

	for (size_t i = 0; i < ARRAY_SIZE(hook_names); i++)
		if (argv_split(hook_defaults[i], &c.argv[i]) < 0) {
			hook_config_clear(&c);
			return -ENOMEM;
		}
	k = rootfs_read_file(r, HOOKS_CONFIG, &fs, e);
	if (k < 0) {
		hook_config_clear(&c);
		return k;
	}
	if (fs.present && (k = rootfs_check_trusted(r, HOOKS_CONFIG, &fs, "hook configuration",
						       "it names the commands iommuctl runs as root", e)) < 0) {
		file_state_clear(&fs);
		hook_config_clear(&c);
		return k;
	}
	if (fs.present) {
		line = unreadable_line(&fs, st.reason, sizeof(st.reason));
		if (!line)
			line = ini_parse_string(fs.data, on_ini_entry, &st);
		file_state_clear(&fs);
		if (line != 0) {
			char shown[4096];

			hook_config_clear(&c);
			return error_set(e, EXIT_BAD_INPUT, "%s:%d: %s; fix the file, then run the command again",
					 rootfs_display(r, HOOKS_CONFIG, shown, sizeof(shown)), line,
					 *st.reason ? st.reason : "syntax error"), -EBADMSG;
		}
	}
	*ret = c;
	return 0;
}

char *const *hook_config_argv(const struct hook_config *c, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(hook_names); i++)
		if (streq(name, hook_names[i]))
			return c->argv[i];
	return NULL;
}

char *hook_config_command_line(const struct hook_config *c, const char *name)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	char *const *argv = hook_config_argv(c, name);

	for (size_t i = 0; argv && argv[i]; i++)
		strbuf_appendf(&sb, "%s%s", i ? " " : "", argv[i]);
	return strbuf_steal(&sb);
}

void hook_result_clear(struct hook_result *h)
{
	free(h->output);
	memset(h, 0, sizeof(*h));
}

/* Read the child's output until it closes the pipe; keep at most HOOK_OUTPUT_MAX. */
static void collect_output(int fd, struct strbuf *out)
{
	char buf[8192];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len < HOOK_OUTPUT_MAX)
			strbuf_append(out, buf, (size_t)n);
	}
}

static int spawn(const struct rootfs *r, char *const *argv, const char *const *extra, struct hook_result *ret)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_free_ char **full = NULL;
	posix_spawn_file_actions_t fa;
	bool chrooted = !streq(r->path, "/");
	size_t n = 0, m = 0, pre = chrooted ? 2 : 0;
	int pipefd[2], status, k;
	pid_t pid;

	while (argv[n])
		n++;
	while (extra && extra[m])
		m++;
	full = calloc(pre + n + m + 1, sizeof(char *));
	if (!full)
		return -ENOMEM;
	/* chroot(8) from coreutils runs the hook inside the root with a fixed argv. */
	if (chrooted) {
		full[0] = (char *)"/usr/sbin/chroot";
		full[1] = r->path;
	}
	memcpy(full + pre, argv, n * sizeof(char *));
	if (m)
		memcpy(full + pre + n, extra, m * sizeof(char *));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return negative_errno();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	k = posix_spawn(&pid, full[0], &fa, NULL, full, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (k != 0) {
		close(pipefd[0]);
		strbuf_appendf(&out, "cannot start %s: %s\n", full[0], strerror(k));
		ret->status = -1;
	} else {
		collect_output(pipefd[0], &out);
		close(pipefd[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (WIFSIGNALED(status))
			strbuf_appendf(&out, "killed by signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
	}
	ret->output_len = out.len;
	ret->output = strbuf_steal(&out);
	return ret->output ? 0 : -ENOMEM;
}

int program_run(char *const *argv, struct hook_result *ret)
{
	static const struct rootfs host = { .fd = -1, .path = (char *)"/" };

	memset(ret, 0, sizeof(*ret));
	return spawn(&host, argv, NULL, ret);
}

int hook_run_args(struct journal *j, int64_t txn, int seq, const struct rootfs *r, const struct hook_config *c,
		  const char *name, const char *const *extra, struct hook_result *ret, struct error *e)
{
	_cleanup_strbuf_ struct strbuf cmd = STRBUF_INIT;
	char *const *argv = hook_config_argv(c, name);
	char started[32];
	int k;

	memset(ret, 0, sizeof(*ret));
	if (!argv)
		return error_set(e, EXIT_IO, "unknown hook '%s'", name), -EINVAL;
	for (size_t i = 0; argv[i]; i++)
		strbuf_appendf(&cmd, "%s%s", i ? " " : "", argv[i]);
	for (size_t i = 0; extra && extra[i]; i++)
		strbuf_appendf(&cmd, " %s", extra[i]);
	if (!cmd.buf)
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	time_now_iso(started);
	k = spawn(r, argv, extra, ret);
	if (k < 0)
		return error_set(e, EXIT_IO, "cannot run %s: %s", cmd.buf, strerror(-k)), k;
	if (!j)
		return 0;
	k = journal_begin(j, e);
	if (k == 0)
		k = journal_hook_insert(j, txn, seq, cmd.buf, ret->status, ret->output, ret->output_len, started, e);
	if (k < 0) {
		journal_rollback_sql(j);
		return k;
	}
	return journal_commit(j, e);
}

int hook_run(struct journal *j, int64_t txn, int seq, const struct rootfs *r, const struct hook_config *c,
	     const char *name, struct hook_result *ret, struct error *e)
{
	return hook_run_args(j, txn, seq, r, c, name, NULL, ret, e);
}

bool hook_installed(const struct rootfs *r, const struct hook_config *c, const char *name)
{
	char *const *argv = hook_config_argv(c, name);
	struct stat st;
	int fd;
	bool ok;

	if (!argv || argv[0][0] != '/')
		return false;
	fd = rootfs_openat(r, argv[0], O_PATH | O_CLOEXEC, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	close(fd);
	return ok;
}
