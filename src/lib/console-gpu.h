/* SPDX-License-Identifier: GPL-2.0-or-later */
/* console-gpu.h — the host's own console GPU passed through on purpose (--allow-console-gpu):
 * the way back it needs and what the kernel needs to let go of the firmware framebuffer.
 *  Owns: the findings of that opt-in. Must not: lift a finding itself (safety.c does, for the
 *  console role only) or include plan.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"
#include "hw.h"
#include "safety.h"

/* After safety_check() with allow_console: when it allowed a console finding (SAFETY_CONSOLE_ALLOWED
 * in *f), add what the opt-in requires: an info finding naming the way back (the default-route NIC
 * that stays with the host, or a serial console= on next_cmdline, the command line of the next
 * boot; NULL when unknown), or a blocking "console-gpu-no-way-back" when there is none; and an info
 * finding about the firmware framebuffer (no kernel parameter, as measured). When no console
 * finding was allowed, an info finding says the option changed nothing. */
int console_gpu_findings(const struct hw *hw, const struct vfio_plan *v, const char *next_cmdline, struct finding **f,
			 size_t *nf);

/* The serial console a command line names: the value of its last console=ttyS... (or ttyAMA,
 * ttyUSB, hvc) parameter, malloc'd; NULL and 0 when there is none; -ENOMEM. */
int console_gpu_serial(const char *cmdline, char **ret);
