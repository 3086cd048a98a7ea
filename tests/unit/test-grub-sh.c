/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-grub-sh.c — the grub editor against sh itself, on generated files (TAP).
 *
 * The fuzzer's oracle is the editor's own reader, so a construct that both
 * misread (a function header before the added line, '.' inside a case) went
 * unnoticed. Here /bin/sh (dash on Debian, as grub-mkconfig runs it) is the
 * judge: /etc/default/grub and up to two drop-ins are put together from pieces
 * of sh that such files hold or could hold, and for every set the editor
 * accepts, sh must read each file; sourcing them as grub-mkconfig does (the
 * drop-ins inside its for loop) must give the command line the reader sees,
 * and after the edit (one of seven intents: adds, removals, both) the old one
 * less what the intent drops, with each added key once (in both variables
 * together: the kernel gets them as one line), and an add that
 * GRUB_CMDLINE_LINUX held as it is still there. A second edit must change
 * nothing.
 *
 * usage: test-grub-sh [CASES [SEED]]   (default 3000 cases, seed 1)
 */
#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grubfile.h"
#include "macros.h"
#include "tap.h"

#define D "GRUB_CMDLINE_LINUX_DEFAULT"
#define L "GRUB_CMDLINE_LINUX"

extern char **environ;

/* Pieces of sh; each is harmless to run (no command writes anything). */
static const char *const pieces[] = {
	D "=\"quiet\"", D "=\"quiet splash\"", D "=quiet", "export " D "=\"a b\"",
	D "=\"$" D " x=1\"", D "=\"${" D "} iommu=soft\"", L "=\"ro\"", L "=\"$" L " y=2\"",
	L "=\"\"", "GRUB_TIMEOUT=5", "X=1", "export X", "readonly Y=1", "unset X",
	"if true; then X=2; fi", "if (true); then X=3; fi", "if true; then " D "=i; fi",
	"while false; do :; done", "for v in a b; do X=$v; done",
	"case a in a) X=1;; esac", "case a in a) . ./inc;; esac", "case $X in (1) :;; esac",
	"f() { X=1; }", "f() X=1", "f()", "f() " D "=f", "f() (true)", "f", "g() {", "}",
	"! true", "! (false)", "!", "true | true", "true &&", "X=1 && true", "false || X=2",
	"true &", "true ;", ". ./inc", "command . ./inc", "X=1 . ./inc", "'.' ./inc",
	"command -v eval >/dev/null", "eval 'X=4'", "eval '" D "=e'", "E=:", "$E", "E=.; $E ./inc",
	": $((Z=1))", ": \"$((" D "=7))\"", "echo hi >/dev/null", "true \\", "X=\\", "\\",
	"# a comment \\", "# " D "=\"commented\"", "", "(" D "=sub)", "{ " D "=brace; }",
	D "=${" D ":-dflt}", ": ${" D ":=x}", "return 0", "exit 0", "Z=$(echo " D "=c)",
	"Z=`true`", "'" D "'=q", D "=\"quiet\" true", "set -- a", "then", "fi", "esac",
	D "=\"quiet\"; X=1", "X=1; " D "=\"a\"", "if true", "then " D "=\"t\"", "(", ")",
	"break", "continue", "set -e", "trap 'X=1' EXIT", "unset -f f", "cd .", "type eval >/dev/null",
	"X=1 export Y", "export " D, "readonly " D, "{ X=1; } >/dev/null", "\t" D "=\"tab\"",
	D "='single'", D "=unquoted\\ word", D "=\"a\"\"b\"", D "=a'b'c", D "=\"a\" \\",
	"  " D "=\"x\" # c", D "=\"${" D "#q}\"", D "=\"${" D "-d}\"", D "=", L "=\"iommu=soft\"",
	D "=\"iommu=soft quiet\"", D "=\"quiet iommu=pt\"", "(cd / && X=1)", "read X </dev/null",
	L "=\"iommu=pt quiet\"", L "=\"iommu\"", L "=\"$" L " x=1\"",
	"else X=5", "elif false; then X=6", "while true", "do", "done", "{", "( )",
	"then f() { X=1; }", "f() . ./inc", "f() eval X=1", "g() { " D "=g; }", "X=1 # " D "=\"in a comment\"",
	/* issue 13: keys that both variables hold, bare and with values */
	L "=\"intel_iommu=on\"", L "=\"iommu=pt\"", L "=\"t iommu=soft iommu=pt\"", D "=\"iommu iommu=pt t\"",
	L "=\"$" L " iommu\"", D "=\"intel_iommu=on quiet\"",
};

static uint64_t rng_state;

static unsigned rng(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/* Put a file together: 1–5 pieces, mostly one per line, now and then joined by
 * "; " or " && ", sometimes without a final newline. */
static size_t file_make(char *buf, size_t size)
{
	unsigned n = 1 + rng(5);
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : rng(6) == 0 ? "; " : rng(8) == 0 ? " && " : "\n";
		int k = snprintf(buf + len, size - len, "%s%s", sep, pieces[rng(ARRAY_SIZE(pieces))]);

		if (k < 0 || (size_t)k >= size - len)
			break;
		len += (size_t)k;
	}
	if (rng(5) != 0 && len + 1 < size)
		buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

static int file_write(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		r = -EIO;
	close(fd);
	return r;
}

/* Run argv ("timeout 5 /bin/sh …": a generated endless loop must not hang the test);
 * its stdout (up to size-1 bytes) into out. Returns the exit status. */
static int sh_run(char *const argv[], char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = -1;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, "/usr/bin/timeout", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (ssize_t k; pid > 0 && (k = read(pipefd[0], out + got, size - 1 - got)) > 0;)
		got += (size_t)k;
	out[got] = '\0';
	close(pipefd[0]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return -1;
}

static const char *const names[3] = { "grub", "grub.d/10-a.cfg", "grub.d/20-b.cfg" };

static bool sh_reads(const char *dir, size_t n)
{
	char path[4200], out[8];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (sh_run((char *[]) { "timeout", "5", "/bin/sh", "-n", path, NULL }, out, sizeof(out)) != 0)
			return false;
	}
	return true;
}

/*
 * Source dir/grub and dir/grub.d/\*.cfg the way grub-mkconfig does (the drop-ins
 * inside a for loop, where break and continue act) and give "L D" (the kernel sees
 * GRUB_CMDLINE_LINUX, then GRUB_CMDLINE_LINUX_DEFAULT). False when sh failed or
 * the file ended the shell (the end marker is missing).
 */
static bool sh_cmdline(const char *dir, char *out, size_t size)
{
	static const char script[] =
		"cd \"$1\" || exit 1; unset " D " " L "; . ./grub; "
		"for x in ./grub.d/*.cfg; do if [ -e \"$x\" ]; then . \"$x\"; fi; done; "
		"printf '%s \\035 %s\\036' \"${" L "-}\" \"${" D "-}\"";
	char *end;

	if (sh_run((char *[]) { "timeout", "5", "/bin/sh", "-c", (char *)script, "sh", (char *)dir, NULL }, out, size) != 0)
		return false;
	end = strrchr(out, '\036');
	if (!end)
		return false;
	*end = '\0';
	return true;
}

static int token_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What an edit asks for; see cmdline_plan_make() for the rules. */
struct intent {
	const char *add[3];
	const char *remove[3];	/* NULL-terminated: grub_edit_cmdline() reads to the NULL */
};

static const struct intent intents[] = {
	{ { "iommu=pt" }, { NULL } },
	{ { "intel_iommu=on", "iommu=pt" }, { NULL } },
	{ { "iommu=pt" }, { "quiet" } },
	{ { "t", "iommu" }, { NULL } },
	{ { NULL }, { "iommu" } },
	{ { "x=2" }, { "splash", "iommu=soft" } },
	{ { "iommu", "intel_iommu=on" }, { NULL } },
};

/* Whether a and b name the same kernel parameter (the text before '='). */
static bool key_same(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && memcmp(a, b, ka) == 0;
}

/* Whether the intent takes token t away: a removal matches it (by key, or exactly
 * for "key=value"), or an add has its key (the add then stands once, in
 * GRUB_CMDLINE_LINUX when that held it, else in GRUB_CMDLINE_LINUX_DEFAULT; a bare
 * key and key=value are one key: grubfile.h). */
static bool intent_drops(const struct intent *in, const char *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(in->remove) && in->remove[i]; i++)
		if (strchr(in->remove[i], '=') ? strcmp(t, in->remove[i]) == 0 : key_same(t, in->remove[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(in->add) && in->add[i]; i++)
		if (key_same(t, in->add[i]))
			return true;
	return false;
}

/* Whether the GRUB_CMDLINE_LINUX part of "L \035 D" holds word w. */
static bool linux_holds(const char *line, const char *w)
{
	const char *end = strstr(line, "\035");
	size_t n = strlen(w);

	for (const char *p = line; (p = strstr(p, w)) && (!end || p < end); p += n)
		if ((p == line || strchr(" \t\n", p[-1])) && (!p[n] || strchr(" \t\n", p[n])))
			return true;
	return false;
}

/* Split "L \035 D" on blanks, without the tokens the intent drops when it is given,
 * sort: two lines compare as multisets. */
static size_t tokens(char *line, char **tok, size_t max, const struct intent *in)
{
	size_t n = 0;

	for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\n", &save))
		if (!in || !intent_drops(in, t))
			tok[n++] = t;
	qsort(tok, n, sizeof(*tok), token_compare);
	return n;
}

/* Whether two sorted word lists are the same. */
static bool words_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Whether two lines hold the same words, in any order. */
static bool cmdline_same(char *a, char *b)
{
	char *ta[256], *tb[256];
	size_t na = tokens(a, ta, 256, NULL), nb = tokens(b, tb, 256, NULL);

	return words_equal(ta, na, tb, nb);
}

/* Whether after is before without what the intent drops, with each add once, and
 * each add GRUB_CMDLINE_LINUX held still there. */
static bool cmdline_intended(char *before, char *after, const struct intent *in)
{
	char *tb[256 + ARRAY_SIZE(in->add)], *ta[256];
	size_t nb, na;

	for (size_t i = 0; i < ARRAY_SIZE(in->add) && in->add[i]; i++)
		if (linux_holds(before, in->add[i]) && !linux_holds(after, in->add[i]))
			return false;
	nb = tokens(before, tb, 256, in);
	na = tokens(after, ta, 256, NULL);

	for (size_t i = 0; i < ARRAY_SIZE(in->add) && in->add[i]; i++)
		tb[nb++] = (char *)in->add[i];
	qsort(tb, nb, sizeof(*tb), token_compare);
	return words_equal(ta, na, tb, nb);
}

static void diag_text(const char *why, const char *text)
{
	printf("# %s: \"", why);
	for (const char *p = text; *p; p++)
		if (*p == '\n')
			printf("\\n");
		else if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else
			putchar(*p);
	printf("\"\n");
}

struct tally {
	unsigned cases, accepted, refused, sh_failed, unreadable, misread, wrong, unstable, diagnosed;
};

struct grub_set {
	char text[3][1024];
	struct grub_file files[3];
	size_t n;
};

/* The main file, and a drop-in or two one time in three. */
static void set_make(struct grub_set *g)
{
	g->n = rng(3) == 0 ? 2 + rng(2) : 1;
	for (size_t i = 0; i < g->n; i++) {
		size_t len = file_make(g->text[i], sizeof(g->text[i]));

		g->files[i] = (struct grub_file) { .name = names[i], .text = g->text[i], .len = len };
	}
}

/* Write files[0..n) under dir, and remove the drop-ins past n. */
static int set_write(const char *dir, const struct grub_file *files, size_t n)
{
	char path[4200];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (i >= n)
			unlink(path);
		else if (r >= 0)
			r = file_write(path, files[i].text, files[i].len);
	}
	return r;
}

/* Whether the reader sees the command line sh gave (before, "L D"). */
static bool reader_agrees(const struct grub_set *g, const char *before)
{
	char *def = NULL, *lin = NULL, view[4096], sh[4096];
	struct cmdline_error err;
	bool same = false;

	if (grub_read_cmdline(g->files, g->n, &def, &lin, &err) >= 0) {
		snprintf(view, sizeof(view), "%s \035 %s", lin ? lin : "", def ? def : "");
		snprintf(sh, sizeof(sh), "%s", before);
		same = cmdline_same(view, sh);
	}
	free(def);
	free(lin);
	return same;
}

/* Edit the set again: nothing may change. */
static bool edit_stable(const struct grub_file *files, size_t n, const struct intent *in)
{
	struct cmdline_error err;
	char **again = NULL;
	bool stable;

	if (grub_edit_cmdline(files, n, in->add, in->remove, &again, &err) < 0)
		return false;
	stable = true;
	for (size_t i = 0; i < n; i++)
		stable = stable && !again[i];
	grub_texts_free(again, n);
	return stable;
}

static const char *edited_check(const char *dir, const struct grub_set *g, char **texts,
				const struct intent *in, char *before, struct tally *t)
{
	struct grub_file e[3];
	char after[4096], shown[8200];

	for (size_t i = 0; i < g->n; i++) {
		e[i] = g->files[i];
		if (texts[i])
			e[i] = (struct grub_file) { .name = names[i], .text = texts[i], .len = strlen(texts[i]) };
	}
	if (set_write(dir, e, g->n) < 0)
		return "cannot write the edit";
	bool got = sh_cmdline(dir, after, sizeof(after));

	snprintf(shown, sizeof(shown), "%s \036 %s", before, got ? after : "(sh failed)");
	if (!got || !cmdline_intended(before, after, in)) {
		if (t->diagnosed < 10)
			printf("# sh gives \"%s\" before and after the edit\n", shown);
		t->wrong++;
		return "the edit does not give sh the intended command line";
	}
	if (!edit_stable(e, g->n, in)) {
		t->unstable++;
		return "a second edit refused or changed the files again";
	}
	return NULL;
}

static void case_run(const char *dir, struct tally *t)
{
	const struct intent *in = &intents[rng(ARRAY_SIZE(intents))];
	char before[4096];
	struct grub_set g;
	struct cmdline_error err;
	char **texts = NULL;
	const char *fault = NULL;

	set_make(&g);
	t->cases++;
	if (grub_edit_cmdline(g.files, g.n, in->add, in->remove, &texts, &err) < 0) {
		t->refused++;
		return;
	}
	t->accepted++;
	if (set_write(dir, g.files, g.n) < 0)
		fault = "cannot write the case";
	else if (!sh_reads(dir, g.n)) {
		t->unreadable++;
		fault = "accepted a file sh cannot read";
	} else if (!sh_cmdline(dir, before, sizeof(before)))
		t->sh_failed++;	/* sh stops in it (exit, set -e): nothing to compare */
	else if (!reader_agrees(&g, before)) {
		t->misread++;
		fault = "the reader sees another command line than sh";
	} else
		fault = edited_check(dir, &g, texts, in, before, t);
	if (fault && t->diagnosed < 10) {
		printf("# intent: add");
		for (size_t i = 0; i < ARRAY_SIZE(in->add) && in->add[i]; i++)
			printf(" %s", in->add[i]);
		printf(", remove");
		for (size_t i = 0; i < ARRAY_SIZE(in->remove) && in->remove[i]; i++)
			printf(" %s", in->remove[i]);
		printf("\n");
	}
	if (fault && t->diagnosed++ < 10)
		for (size_t i = 0; i < g.n; i++) {
			diag_text(fault, g.text[i]);
			if (texts[i])
				diag_text("edited", texts[i]);
		}
	grub_texts_free(texts, g.n);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3000;
	char dir[] = "/tmp/test-grub-sh.XXXXXX", inc[64];
	struct tally t = {0};

	/* The reader follows dash, the /bin/sh of Debian that grub-mkconfig runs. */
	char *sh = realpath("/bin/sh", NULL);
	bool dash = sh && strcmp(basename(sh), "dash") == 0;

	free(sh);
	if (!dash) {
		printf("1..0 # SKIP /bin/sh is not dash\n");
		return 0;
	}
	rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	rng_state = rng_state * 0x9e3779b97f4a7c15ULL + 1;
	if (!mkdtemp(dir)) {
		printf("Bail out! cannot make a directory under /tmp: %s\n", strerror(errno));
		return 1;
	}
	/* what ". ./inc" reads */
	snprintf(inc, sizeof(inc), "%s/inc", dir);
	if (file_write(inc, D "=\"from-inc\"\n", strlen(D "=\"from-inc\"\n")) < 0) {
		printf("Bail out! cannot write %s\n", inc);
		return 1;
	}
	snprintf(inc, sizeof(inc), "%s/grub.d", dir);
	if (mkdir(inc, 0755) < 0) {
		printf("Bail out! cannot make %s\n", inc);
		return 1;
	}
	for (unsigned i = 0; i < n; i++)
		case_run(dir, &t);
	set_write(dir, NULL, 0);
	rmdir(inc);
	snprintf(inc, sizeof(inc), "%s/inc", dir);
	unlink(inc);
	rmdir(dir);

	printf("# %u cases: %u accepted (%u where sh itself stops), %u refused\n", t.cases, t.accepted,
	       t.sh_failed, t.refused);
	ok(t.unreadable == 0, "every file the editor accepts, sh reads (%u not)", t.unreadable);
	ok(t.misread == 0, "the reader sees the command line sh gives (%u not)", t.misread);
	ok(t.wrong == 0, "every accepted edit gives sh the intended command line (%u not)", t.wrong);
	ok(t.unstable == 0, "a second edit changes nothing (%u did)", t.unstable);
	/* a generator that makes only refused (or only accepted) files tests nothing */
	ok(t.accepted - t.sh_failed >= n / 10 && t.refused >= n / 10,
	   "at least a tenth of the cases compared (%u) and a tenth refused (%u)", t.accepted - t.sh_failed,
	   t.refused);
	return tap_done();
}
