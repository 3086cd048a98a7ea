/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dl.c — load a library and the functions a module takes from it.
 *  Owns: dl_load(): dlopen() and dlsym() of one library's table, once. Must not: call the
 *  libraries' functions itself (the modules that declare the tables do: kmods.c, initramfs.c). */
#include <dlfcn.h>
#include <errno.h>

#include "dl.h"

int dl_load(struct dl_library *lib, struct error *e)
{
	void *handle;

	if (lib->handle)
		return 0;
	/* RTLD_NOW: a missing function shows here, named, not as a crash later. */
	handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return error_set(e, EXIT_IO, "cannot load %s (%s); install the package %s", lib->soname, dlerror(),
				 lib->package), -ENOENT;
	for (size_t i = 0; i < lib->n_symbols; i++) {
		void *p = dlsym(handle, lib->symbols[i].name);

		if (!p) {
			for (size_t j = 0; j < i; j++)
				*lib->symbols[j].ptr = NULL;
			dlclose(handle);
			return error_set(e, EXIT_IO, "%s has no function %s; install the package %s of this release",
					 lib->soname, lib->symbols[i].name, lib->package), -ENOENT;
		}
		*lib->symbols[i].ptr = p;
	}
	lib->handle = handle;
	return 0;
}
