/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dl.h — libraries that only some commands need, loaded on first use with dlopen().
 *  Owns: struct dl_library, DL_SYMBOL() and dl_load(). Must not: include any header of src/lib. */
#pragma once

#include <stddef.h>

#include "util.h"

/*
 * libkmod brings libcrypto, and libarchive brings libxml2, ICU and libstdc++:
 * linked at start-up they cost every command, `iommuctl --version` and
 * `history` included, about 9 million instructions of relocation and
 * initialisers (bench/run, part 6) for code only scan, plan, apply and verify
 * run. A module that uses one declares a pointer per function and a table of
 * them, and loads the table before its first call.
 */
struct dl_symbol {
	const char *name;
	void **ptr;
};

#define DL_SYMBOL(fn) { #fn, (void **)&sym_##fn }

struct dl_library {
	const char *soname;	/* e.g. "libkmod.so.2" */
	const char *package;	/* the Debian package that has it, for the message */
	const struct dl_symbol *symbols;
	size_t n_symbols;
	void *handle;		/* set once every symbol was found */
};

/* Load lib and fill its symbols, once; later calls return at once. On failure
 * every pointer stays NULL and e says which library or symbol is missing and
 * which package to install (EXIT_IO). */
int dl_load(struct dl_library *lib, struct error *e);
