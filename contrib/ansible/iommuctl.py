#!/usr/bin/python3
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# iommuctl.py — an Ansible module that drives iommuctl(8) on each node: plan, apply, roll back one
# profile, with check and diff mode, and the scan as facts. It only runs the iommuctl binary and
# reads its --json output; every decision about files stays in iommuctl.

DOCUMENTATION = r'''
---
module: iommuctl
short_description: apply or roll back an iommuctl profile (PCI/GPU passthrough configuration)
description:
  - Runs C(iommuctl plan --json) first. A plan that changes nothing reports C(changed=false); in
    check mode the plan's C(changed) is reported and nothing is written.
  - C(state=applied) applies the profile as one transaction (C(apply -y)); a refusal by the safety
    analysis (exit 3) fails the task with the findings unless C(force=true).
  - C(state=absent) rolls back every apply of that profile that is still in effect (newest first),
    and changes nothing when there is none, so a second run is a no-op.
  - Every iommuctl command runs with C(--json) and C(--wait=SECONDS), so that another iommuctl
    holding the journal's lock is waited for, and a failure comes back as iommuctl's own JSON
    error object (exit, message, hint).
  - The facts C(iommuctl_scan) are iommuctl's C(scan --json) of the node.
options:
  profile:
    description: built-in (iommu, vfio, nvidia, amd, intel, gpu) or local profile name.
    type: str
    required: true
  device:
    description: PCI slots for the gpu profile (C(--device), repeatable); default every GPU that is not the console.
    type: list
    elements: str
    default: []
  state:
    description: C(applied) or C(absent) (no apply of this profile in effect).
    type: str
    choices: [applied, absent]
    default: applied
  trial:
    description: apply as a trial boot (C(apply --trial)); the files are written by C(iommuctl commit) after a good boot.
    type: bool
    default: false
  force:
    description: override a refusal by the safety analysis (C(--force)).
    type: bool
    default: false
  root:
    description: work on the system mounted at this directory (C(--root)), for rescue and sandbox use.
    type: path
  sysfs:
    description: read hardware from this directory instead of /sys (C(--sysfs)).
    type: path
  procfs:
    description: read processes and interrupts from this directory instead of /proc (C(--procfs)).
    type: path
  hooks:
    description: run update-initramfs, update-grub, proxmox-boot-tool; C(false) is C(--no-hooks).
    type: bool
    default: true
  binary:
    description: the iommuctl to run; default iommuctl from PATH, /usr/sbin or /sbin.
    type: path
  wait:
    description: seconds to wait for another iommuctl's lock (C(--wait=SECONDS)); 0 fails at once (exit 4).
    type: int
    default: 300
  facts:
    description: return C(iommuctl_scan) (C(scan --json)) as a fact.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: GPU passthrough for the second card on every node
  iommuctl:
    profile: gpu
    device: ["0000:01:00.0"]

- name: take it back
  iommuctl:
    profile: gpu
    state: absent
'''

RETURN = r'''
txn:
  description: the transaction iommuctl recorded (apply), or the last rollback (absent); null when nothing changed.
  type: int
  returned: when something was written
files:
  description: the files the transaction changed.
  type: list
  returned: always
findings:
  description: the safety findings of the plan (severity, id, message, hint).
  type: list
  returned: state=applied
rolled_back:
  description: the apply transactions that state=absent undid (or would undo, in check mode).
  type: list
  returned: state=absent
iommuctl_error:
  description: iommuctl's JSON error object (exit, message, hint) of a failed command.
  type: dict
  returned: on failure
'''

import json

from ansible.module_utils.basic import AnsibleModule


class Iommuctl(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.binary = p['binary'] or module.get_bin_path('iommuctl', required=True, opt_dirs=['/usr/sbin', '/sbin'])
        self.globals = ['--json', '--wait=%d' % p['wait'] if p['wait'] > 0 else '--wait=0']
        for opt in ('root', 'sysfs', 'procfs'):
            if p[opt]:
                self.globals += ['--' + opt, p[opt]]
        if not p['hooks']:
            self.globals.append('--no-hooks')
        self.commands = []

    def run(self, args, ok=(0,), text=False):
        """Run iommuctl with the global options; return (rc, parsed stdout, or the text with
        text=True, without --json); fail on an rc not in ok, with iommuctl's JSON error."""
        argv = [self.binary] + self.globals + args
        if text:
            argv = [a for a in argv if a != '--json']
        self.commands.append(' '.join(argv))
        rc, out, err = self.module.run_command(argv, environ_update={'LC_ALL': 'C'})
        if text and rc in ok:
            return rc, out
        try:
            doc = json.loads(out) if out.strip() else None
        except ValueError:
            doc = None
        if rc in ok:
            return rc, doc
        error = doc.get('error') if isinstance(doc, dict) else None
        if error:
            msg = 'iommuctl %s: %s' % (args[0], error.get('message'))
            if error.get('hint'):
                msg += '; ' + error['hint']
        else:
            msg = 'iommuctl %s exited with status %d: %s' % (args[0], rc, err.strip() or out.strip())
        self.module.fail_json(msg=msg, rc=rc, iommuctl_error=error, stderr=err, commands=self.commands)


def file_diffs(files, header):
    return [{'before_header': '%s (%s)' % (f['path'], header[0]), 'after_header': '%s (%s)' % (f['path'], header[1]),
             'prepared': f.get('diff', '')} for f in files]


def device_args(p):
    args = []
    for d in p['device']:
        args += ['--device', d]
    return args


def applied(cli, p, result):
    rc, plan = cli.run(['plan'] + device_args(p) + [p['profile']], ok=(0, 3))
    findings = plan.get('findings', [])
    result['findings'] = findings
    result['files'] = [f['path'] for f in plan.get('files', [])]
    if plan.get('blocked') and not p['force']:
        blocking = [f for f in findings if f.get('severity') == 'blocking'] or findings
        cli.module.fail_json(msg='iommuctl refuses profile %s: %s' % (
            p['profile'], ' | '.join('%s: %s%s' % (f.get('id'), f.get('message'), ' (%s)' % f['hint'] if f.get('hint') else '')
                                     for f in blocking)),
            findings=findings, rc=rc, commands=cli.commands)
    result['changed'] = bool(plan.get('changed'))
    if cli.module._diff:
        result['diff'] = file_diffs(plan.get('files', []), ('now', 'profile %s' % p['profile']))
    if cli.module.check_mode or not result['changed']:
        return
    args = ['apply', '-y'] + device_args(p)
    if p['trial']:
        args.append('--trial')
    if p['force']:
        args.append('--force')
    rc, out = cli.run(args + [p['profile']])
    out = out or {}
    result['changed'] = bool(out.get('changed', True))
    result['txn'] = out.get('txn')
    result['files'] = out.get('files', result['files'])


def in_effect(history, profile):
    """Applies of profile not undone, newest first (history is newest first)."""
    by_id = dict((t['id'], t) for t in history)

    def undone(tid, seen=()):
        for t in history:
            if t['kind'] == 'rollback' and t['state'] == 'committed' and t.get('undoes') == tid and t['id'] not in seen:
                if not undone(t['id'], seen + (tid,)):
                    return True
        return False
    return [t['id'] for t in history
            if t['kind'] == 'apply' and t['state'] == 'committed' and t.get('profile') == profile
            and t['id'] in by_id and not undone(t['id'])]


def absent(cli, p, result):
    rc, history = cli.run(['history'])
    ids = in_effect(history or [], p['profile'])
    result['rolled_back'] = ids
    result['changed'] = bool(ids)
    result['files'] = []
    if cli.module._diff and ids:
        # What each apply changed (`iommuctl diff TXN`, a patch); the rollback writes its reverse.
        diffs = []
        for tid in ids:
            rc, patch = cli.run(['diff', str(tid)], text=True)
            diffs.append({'before_header': 'transaction %d (apply %s), which the rollback undoes' % (tid, p['profile']),
                          'after_header': 'as before transaction %d' % tid, 'prepared': patch})
        result['diff'] = diffs
    if cli.module.check_mode:
        return
    for tid in ids:
        args = ['rollback', str(tid)]
        if p['force']:
            args.append('--force')
        rc, out = cli.run(args)
        out = out or {}
        result['txn'] = out.get('txn')
        result['files'] += [f for f in out.get('files', []) if f not in result['files']]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type='str', required=True),
            device=dict(type='list', elements='str', default=[]),
            state=dict(type='str', choices=['applied', 'absent'], default='applied'),
            trial=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            root=dict(type='path'),
            sysfs=dict(type='path'),
            procfs=dict(type='path'),
            hooks=dict(type='bool', default=True),
            binary=dict(type='path'),
            wait=dict(type='int', default=300),
            facts=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cli = Iommuctl(module)
    result = dict(changed=False)
    if p['facts']:
        rc, scan = cli.run(['scan'])
        result['ansible_facts'] = {'iommuctl_scan': scan}
    if p['state'] == 'applied':
        applied(cli, p, result)
    else:
        absent(cli, p, result)
    result['commands'] = cli.commands
    module.exit_json(**result)


if __name__ == '__main__':
    main()
