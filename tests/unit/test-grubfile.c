/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-grubfile.c — exact output of the grub editor for each quoting and file shape (TAP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grubfile.h"
#include "macros.h"
#include "tap.h"

#define V(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NONE ((const char *const *)NULL)
#define D "GRUB_CMDLINE_LINUX_DEFAULT"
#define L "GRUB_CMDLINE_LINUX"

/* Up to three files: the main file and two drop-ins; NULL ends the list. */
struct grub_case {
	const char *desc;
	const char *in[3];
	const char *const *add;
	const char *const *remove;
	const char *want[3];	/* NULL: that file must be left alone */
};

static const char *const names[3] = {
	"/etc/default/grub", "/etc/default/grub.d/10-a.cfg", "/etc/default/grub.d/20-b.cfg",
};

static size_t files_make(const char *const *in, struct grub_file *files)
{
	size_t n = 0;

	for (; n < 3 && in[n]; n++)
		files[n] = (struct grub_file) { .name = names[n], .text = in[n], .len = strlen(in[n]) };
	return n;
}

static void test_case(const struct grub_case *t)
{
	struct grub_file files[3];
	size_t n = files_make(t->in, files);
	struct cmdline_error err;
	char **texts = NULL;
	int r = grub_edit_cmdline(files, n, t->add, t->remove, &texts, &err);

	ok(r == 0, "%s: edit succeeds (%s)", t->desc, r < 0 ? err.message : "ok");
	if (r < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!t->want[i])
			ok(!texts[i], "%s: %s left alone", t->desc, names[i]);
		else
			is_str(texts[i], t->want[i], "%s: %s", t->desc, names[i]);
	}
	grub_texts_free(texts, n);
}

static void test_cases(void)
{
	const struct grub_case cases[] = {
		{ "double quotes", { D "=\"quiet\"\n" L "=\"\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"quiet iommu=pt\"\n" L "=\"\"\n" } },
		{ "single quotes", { D "='quiet splash'\n" }, V("iommu=pt"), NONE,
		  { D "='quiet splash iommu=pt'\n" } },
		{ "unquoted gains quotes", { D "=quiet\n" }, V("iommu=pt"), NONE, { D "=\"quiet iommu=pt\"\n" } },
		{ "unquoted replaced in place", { D "=iommu=soft\n" }, V("iommu=pt"), NONE, { D "=iommu=pt\n" } },
		{ "unquoted removal", { D "=quiet\n" }, NONE, V("quiet"), { D "=\n" } },
		{ "export kept", { "export " D "=\"quiet\"\n" }, V("iommu=pt"), NONE,
		  { "export " D "=\"quiet iommu=pt\"\n" } },
		{ "comment and indent kept", { "  " D "=\"quiet\"   # mine\n" }, V("iommu=pt"), NONE,
		  { "  " D "=\"quiet iommu=pt\"   # mine\n" } },
		{ "trailing semicolon", { D "=\"quiet\";\n" }, V("iommu=pt"), NONE, { D "=\"quiet iommu=pt\";\n" } },
		{ "empty file gets a line", { "" }, V("iommu=pt"), NONE, { D "=\"iommu=pt\"\n" } },
		{ "no final newline stays so", { "GRUB_TIMEOUT=5" }, V("iommu=pt"), NONE,
		  { "GRUB_TIMEOUT=5\n" D "=\"iommu=pt\"" } },
		{ "CRLF line added in CRLF", { "A=1\r\nB=2\r\n" }, V("iommu=pt"), NONE,
		  { "A=1\r\nB=2\r\n" D "=\"iommu=pt\"\r\n" } },
		{ "CRLF no final newline", { "A=1\r\nB=2" }, V("iommu=pt"), NONE,
		  { "A=1\r\nB=2\r\n" D "=\"iommu=pt\"" } },
		{ "CRLF value edited", { D "=\"quiet\"\r\n" }, V("iommu=pt"), NONE, { D "=\"quiet iommu=pt\"\r\n" } },
		{ "duplicate assignments: the last wins", { D "=\"splash\"\n" D "=\"quiet\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"splash\"\n" D "=\"quiet iommu=pt\"\n" } },
		{ "commented line ignored", { D "=\"quiet\"\n#" D "=\"old\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"quiet iommu=pt\"\n#" D "=\"old\"\n" } },
		{ "drop-in wins, main untouched", { D "=\"quiet\"\n", D "=\"console=tty1\"\n" }, V("iommu=pt"), NONE,
		  { NULL, D "=\"console=tty1 iommu=pt\"\n" } },
		{ "self-reference: add to the last, remove where it is",
		  { D "=\"quiet\"\n", D "=\"$" D " intel_iommu=on\"\n" }, V("iommu=pt"), V("quiet"),
		  { D "=\"\"\n", D "=\"$" D " intel_iommu=on iommu=pt\"\n" } },
		{ "self-reference at the end gets a blank", { D "=\"quiet \"\n", D "=\"$" D "\"\n" }, V("iommu=pt"),
		  NONE, { NULL, D "=\"$" D " iommu=pt\"\n" } },
		{ "unquoted self-reference requoted", { D "=quiet\n" D "=$" D "\n" }, V("iommu=pt"), NONE,
		  { D "=quiet\n" D "=\"$" D " iommu=pt\"\n" } },
		{ "braced self-reference", { D "=\"quiet\"\n", NULL, D "=\"${" D "} splash\"\n" }, NONE,
		  V("splash"), { NULL, NULL } },
		{ "mixed quoting", { D "=\"quiet \"'splash'\n" }, V("iommu=pt"), V("quiet"),
		  { D "=\"\"'splash iommu=pt'\n" } },
		{ "duplicates of the key dropped", { D "=\"iommu=soft quiet iommu=on\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"iommu=pt quiet\"\n" } },
		{ "conflicting value in GRUB_CMDLINE_LINUX dropped",
		  { D "=\"quiet\"\n" L "=\"iommu=soft net.ifnames=0\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"quiet iommu=pt\"\n" L "=\"net.ifnames=0\"\n" } },
		/* Issue 13: the normal entry's kernel gets "$L $D"; an add that L holds is
		 * counted once, and a bare key is the same key as key=value in both. */
		{ "an add GRUB_CMDLINE_LINUX holds is not added again",
		  { D "=\"quiet\"\n" L "=\"intel_iommu=on\"\n" }, V("intel_iommu=on", "iommu=pt"), NONE,
		  { D "=\"quiet iommu=pt\"\n" L "=\"intel_iommu=on\"\n" } },
		{ "an add GRUB_CMDLINE_LINUX holds, spelt with '-'",
		  { D "=\"quiet\"\n" L "=\"intel-iommu=on\"\n" }, V("intel_iommu=on"), NONE, { NULL } },
		{ "the key leaves GRUB_CMDLINE_LINUX_DEFAULT when GRUB_CMDLINE_LINUX holds the add",
		  { D "=\"intel_iommu=off quiet intel_iommu=on\"\n" L "=\"intel_iommu=on\"\n" }, V("intel_iommu=on"),
		  NONE, { D "=\"quiet\"\n" L "=\"intel_iommu=on\"\n" } },
		{ "GRUB_CMDLINE_LINUX keeps the add once",
		  { D "=\"\"\n" L "=\"iommu=pt ro iommu=pt\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"\"\n" L "=\"iommu=pt ro\"\n" } },
		{ "a bare add drops the key's value from GRUB_CMDLINE_LINUX",
		  { D "=\"quiet\"\n" L "=\"iommu=soft ro\"\n" }, V("iommu"), NONE,
		  { D "=\"quiet iommu\"\n" L "=\"ro\"\n" } },
		{ "a bare add GRUB_CMDLINE_LINUX holds bare",
		  { D "=\"iommu=soft\"\n" L "=\"iommu\"\n" }, V("iommu"), NONE, { D "=\"\"\n" L "=\"iommu\"\n" } },
		{ "a key=value add against a bare key in GRUB_CMDLINE_LINUX",
		  { D "=\"quiet\"\n" L "=\"iommu\"\n" }, V("iommu=pt"), NONE,
		  { D "=\"quiet iommu=pt\"\n" L "=\"\"\n" } },
		{ "GRUB_CMDLINE_LINUX in a drop-in holds the add",
		  { D "=\"quiet\"\n", L "=\"$" L " intel_iommu=on\"\n" }, V("intel_iommu=on"), NONE, { NULL, NULL } },
		{ "removal from GRUB_CMDLINE_LINUX only", { D "=\"\"\n" L "=\"quiet root=ZFS=rpool\"\n" }, NONE,
		  V("quiet"), { D "=\"\"\n" L "=\"root=ZFS=rpool\"\n" } },
		{ "other statements left alone",
		  { "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
		    "if [ -d /sys/firmware/efi ]; then GRUB_TIMEOUT=1; fi\n" D "=\"quiet\"\n" },
		  V("iommu=pt"), NONE,
		  { "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
		    "if [ -d /sys/firmware/efi ]; then GRUB_TIMEOUT=1; fi\n" D "=\"quiet iommu=pt\"\n" } },
		{ "nothing to do", { D "=\"quiet iommu=pt\"\n" }, V("iommu=pt"), V("splash"), { NULL } },
		/* Found by fuzz-grubfile: with the words after $VAR all removed, the added word
		 * must not be glued to it ("$VARt" reads another variable). */
		{ "added word after a self-reference whose tail was removed", { D "=\"iommu $" D " iommu\"\n" },
		  V("t", "iommu"), NONE, { D "=\"iommu $" D " t\"\n" } },
		/* A reserved word wants a command next, and a ( … ) subshell is one. */
		{ "subshells after reserved words",
		  { "if (true); then ! (false); fi\nwhile (false); do (true); done\n{ (true); }\n" D "=\"\"\n" },
		  V("iommu=pt"), NONE,
		  { "if (true); then ! (false); fi\nwhile (false); do (true); done\n{ (true); }\n" D "=\"iommu=pt\"\n" } },
		{ "a function whose body is a subshell", { "f() (true)\n" }, V("iommu=pt"), NONE,
		  { "f() (true)\n" D "=\"iommu=pt\"\n" } },
		/* Patterns are no commands, and a pipeline runs in a subshell. */
		{ "patterns and pipelines in a case",
		  { "case $x in $a|eval) case $y in (c) :;; esac;; *) exit | cat;; esac\n" D "=\"\"\n" },
		  V("iommu=pt"), NONE,
		  { "case $x in $a|eval) case $y in (c) :;; esac;; *) exit | cat;; esac\n" D "=\"iommu=pt\"\n" } },
		/* "command -v" only prints what a name is; nothing runs. */
		{ "command -v eval", { D "=\"\"\ncommand -v eval >/dev/null\n" }, V("iommu=pt"), NONE,
		  { D "=\"iommu=pt\"\ncommand -v eval >/dev/null\n" } },
		/* "&" ends a command, so the empty line after the backslash ends the statement. */
		{ "'&' and a backslash end the file", { "A=1\ntrue & \\\n" }, V("iommu=pt"), NONE,
		  { "A=1\ntrue & \\\n\n" D "=\"iommu=pt\"\n" } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		test_case(&cases[i]);
}

struct refuse_case {
	const char *desc;
	const char *in[3];
	const char *const *add;
	int want_r;
	enum cmdline_reason want_reason;
	size_t want_file;
	unsigned want_line;
};

static void test_refusals(void)
{
	const struct refuse_case cases[] = {
		{ "command substitution", { "A=1\n" D "=\"$(cat x)\"\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "other variable", { D "=\"$X\"\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 1 },
		{ "conditional", { "if true; then\n" D "=x\nfi\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "&& list", { "true &&\n\n" D "=x\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 3 },
		{ "continuation in the drop-in", { "", "A=1 \\\n" D "=x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 1, 1 },
		{ "name split by a continuation", { D "=a\nGRUB_CMDLINE_LINUX_D\\\nEFAULT=b\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "token across an expansion", { D "=\"a\"\n", D "=\"${" D "}b\"\n" }, V("ab=1"), -EBADMSG,
		  CMDLINE_UNSAFE, 1, 1 },
		{ "fi out of place", { "fi\n" D "=x\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 1 },
		{ "operator without command", { "&& true\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 1 },
		{ "unterminated block", { "if true; then\nA=1\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 3 },
		{ "shell character in a parameter", { D "=x\n" }, V("a;b"), -EINVAL, CMDLINE_BAD_PARAM, 0, 0 },
		{ "quote in a parameter", { D "=x\n" }, V("a=\"b\""), -EINVAL, CMDLINE_BAD_PARAM, 0, 0 },
		{ "-- in GRUB_CMDLINE_LINUX", { L "=\"-- single\"\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 1 },
		/* Found by fuzz-grubfile: the added line would have made the pipe continue onto it. */
		{ "a pipe and a lone CR end the file", { "GRUB_TIMEOUT=5\r\ntrue |\r" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		{ "a lone CR ends the file", { "GRUB_TIMEOUT=5\r" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 1 },
		/* Also found by fuzz-grubfile: the empty line written after a final backslash does not
		 * end a pipe. */
		{ "a pipe and a backslash end the file", { "A=1\ntrue | \\" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		/* And the word before such a backslash must not join the new line either. */
		{ "a backslash ends the file", { "A=1\nT=\\" D "\\\\\\" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		/* '.', exec and exit are found past assignments and the "command" builtin. */
		{ "'.' after an assignment", { D "=x\nA=1 . /etc/x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		{ "'.' run by command", { D "=x\ncommand . /etc/x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		{ "exec run by command -p", { D "=x\nA=\"1\" command -p exec true\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		/* sh finds a builtin by the word's value, quotes and backslashes removed. */
		{ "quoted '.'", { D "=x\n'.' /etc/x\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "eval spelled with quotes and a continuation", { D "=x\n\"ev\"a\\\nl x\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "a command named by an expansion", { D "=x\nE=.\n$E /etc/x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 3 },
		{ "'.' in a case", { D "=x\ncase a in a) . /etc/x;; esac\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		{ "exit in a case, on its own line", { D "=x\ncase a in\na)\n\tif exit; then :; fi\nesac\n" },
		  V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 4 },
		/* grub-mkconfig sources the drop-ins in a for loop: continue skips the rest of one,
		 * break all the later ones. */
		{ "continue in a drop-in", { "", "continue\n" D "=x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 1, 1 },
		{ "break in a drop-in", { D "=x\n", "if true; then break; fi\n", D "=y\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_UNSAFE, 1, 1 },
		{ "exit after an assignment", { D "=x\nA=1 exit\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		/* Arithmetic expansion assigns in the shell itself. */
		{ "assigned by $((…))", { D "=\"quiet\"\n: \"$((" D "=5))\"\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		/* dash runs a function's body, even a simple command, only when it is called: a
		 * line added after a header without its body would become that body. */
		{ "a function header ends the file", { "A=1\nf()\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_SYNTAX, 0, 2 },
		{ "a function header and a backslash end the file", { "A=1\nf() \\\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_SYNTAX, 0, 2 },
		{ "a function header before ';'", { "f() ;\n" D "=x\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_SYNTAX, 0, 1 },
		{ "a function whose body is the assignment", { "f() " D "=\"quiet\"\n" }, V("iommu=pt"),
		  -EBADMSG, CMDLINE_UNSAFE, 0, 1 },
		{ "a function whose body follows on the next line", { "f()\n" D "=\"quiet\"\n" },
		  V("iommu=pt"), -EBADMSG, CMDLINE_UNSAFE, 0, 2 },
		{ "'.' as a function's body", { D "=x\nf() . /etc/x\nf\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
		/* dash wants the pipeline after '!' on the same line. */
		{ "'!' alone", { "A=1\n!\n" D "=x\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 2 },
		{ "'!' and a backslash end the file", { "A=1\n! \\\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_SYNTAX, 0, 2 },
		/* Found by test-grub-sh: files sh cannot read, which the reader took. */
		{ "if without then", { "if true\nfi\n" D "=x\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 2 },
		{ "then without a command", { "if true; then\nfi\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX,
		  0, 2 },
		{ "else before then", { "while true; else :; done\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX,
		  0, 1 },
		{ "an empty subshell", { "A=1\n( )\n" }, V("iommu=pt"), -EBADMSG, CMDLINE_SYNTAX, 0, 2 },
		{ "'fi' as a function's body", { "if true; then f()\nfi\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_SYNTAX, 0, 2 },
		{ "an assignment is no function name", { "X=\\\nf() (true)\n" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_SYNTAX, 0, 2 },
		{ "a backslash ends the file (plain word)", { "A=1\nB=x\\" }, V("iommu=pt"), -EBADMSG,
		  CMDLINE_UNSAFE, 0, 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct refuse_case *t = &cases[i];
		struct grub_file files[3];
		size_t n = files_make(t->in, files);
		struct cmdline_error err;
		char **texts = NULL;
		int r = grub_edit_cmdline(files, n, t->add, NONE, &texts, &err);
		ok(r == t->want_r && err.reason == t->want_reason && !texts && err.line == t->want_line &&
		   (t->want_r == -EINVAL ? !err.file : err.file == names[t->want_file]),
		   "refused: %s (%s:%u: %s)", t->desc, err.file ? err.file : "-", err.line, err.message);
	}

	/* The text is passed with its length, so a NUL inside it is seen and refused. */
	struct grub_file nul = { .name = names[0], .text = "A=1\0B=2\n", .len = 8 };
	struct cmdline_error err;
	char **texts = NULL;

	ok(grub_edit_cmdline(&nul, 1, V("iommu=pt"), NONE, &texts, &err) == -EBADMSG && !texts,
	   "refused: a NUL byte (%s)", err.message);
}

static void test_limit(void)
{
	size_t len = CMDLINE_MAX - GRUB_CMDLINE_RESERVE - 40;
	_cleanup_free_ char *text = malloc(len + 64);
	struct grub_file f = { .name = names[0] };
	struct cmdline_error err;
	char **texts = NULL;
	size_t k = (size_t)sprintf(text, D "=\"");

	for (size_t i = 0; i < len; i++)
		text[k++] = i % 10 == 9 ? ' ' : 'x';
	strcpy(text + k, "\"\n");
	f.text = text;
	f.len = strlen(text);
	ok(grub_edit_cmdline(&f, 1, V("iommu=pt"), NONE, &texts, &err) == 0,
	   "a line just under the limit takes one more parameter");
	grub_texts_free(texts, 1);
	texts = NULL;
	ok(grub_edit_cmdline(&f, 1, V("intel_iommu=on", "iommu=pt", "vfio_pci.ids=10de:1b80,10de:10f0",
				      "video=efifb:off"), NONE, &texts, &err) == -E2BIG &&
	   err.reason == CMDLINE_TOO_LONG && !texts,
	   "past the limit is refused: %s", err.message);
}

static void test_read(void)
{
	struct grub_file files[2] = {
		{ .name = names[0], .text = D "=\"quiet\"\n" L "='root=ZFS=rpool'\n" },
		{ .name = names[1], .text = D "=\"$" D " iommu=pt\"\n" },
	};
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct cmdline_error err;

	files[0].len = strlen(files[0].text);
	files[1].len = strlen(files[1].text);
	ok(grub_read_cmdline(files, 2, &def, &lin, &err) == 0, "read the effective values");
	is_str(def, "quiet iommu=pt", "effective " D);
	is_str(lin, "root=ZFS=rpool", "effective " L);
}

int main(void)
{
	test_cases();
	test_refusals();
	test_limit();
	test_read();
	return tap_done();
}
