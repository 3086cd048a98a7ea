#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0970 — the Ansible module contrib/ansible/iommuctl.py, run by ansible-playbook against localhost
# (connection local) on a sandbox root and a captured machine: check mode changes nothing and
# reports changed; apply changes; a second run reports changed: false; a refused plan fails with
# the finding's text; state: absent rolls back, and a second absent reports changed: false. Diff
# mode and the scan facts too. Each play saves the task's registered result as JSON (ansible-core
# alone has no json stdout callback), and fails after that when the task failed.
. "$(dirname "$0")/test-lib.sh"

command -v ansible-playbook >/dev/null || { echo "1..0 # SKIP ansible-playbook (ansible-core) is not installed"; exit 0; }
root=$(new_root pve8-grub)
fx=$FIXTURES/hw/q35-amd-6.12
mkdir -p "$root/etc/iommuctl/profiles"
printf '[profile]\ndescription = takes the root disk\n[blacklist]\nadd = nvme\n' >"$root/etc/iommuctl/profiles/takes-disk.conf"
manifest "$root" >"$TEST_TMP/m0"

export ANSIBLE_LIBRARY=$SRCDIR/contrib/ansible
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP=$TEST_TMP/ansible-local ANSIBLE_REMOTE_TEMP=$TEST_TMP/ansible-remote
export ANSIBLE_CONFIG=$TEST_TMP/no-ansible.cfg ANSIBLE_PYTHON_INTERPRETER=${ANSIBLE_PYTHON_INTERPRETER:-/usr/bin/python3}
export HOME=$TEST_TMP
printf 'localhost ansible_connection=local\n' >"$TEST_TMP/inventory"

# play NAME STATE PROFILE [ansible-playbook options...]: one iommuctl task, its registered result in
# $TEST_TMP/NAME.json, ansible-playbook's exit status in $rc, its output in NAME.out.
play() {
	local name=$1 state=$2 profile=$3; shift 3
	cat >"$TEST_TMP/$name.yml" <<EOT
- hosts: localhost
  gather_facts: false
  tasks:
    - name: iommuctl $state $profile
      iommuctl:
        profile: $profile
        state: $state
        root: $root
        sysfs: $fx/sys
        procfs: $fx/proc
        hooks: false
        binary: $IOMMUCTL
        wait: 30
      register: r
      ignore_errors: true
    - name: save the result
      copy:
        content: "{{ r | to_json }}"
        dest: $TEST_TMP/$name.json
      check_mode: false
    - name: fail the play as the task did
      fail:
        msg: "{{ r.msg }}"
      when: r is failed
EOT
	LC_ALL=C.UTF-8 ansible-playbook -i "$TEST_TMP/inventory" "$@" "$TEST_TMP/$name.yml" >"$TEST_TMP/$name.out" 2>&1
	rc=$?
}
# result NAME EXPR: EXPR over `r`, the task's result for localhost.
result() {
	"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(r, indent=1)[:3000])
sys.exit(0 if ok else 1)' "$TEST_TMP/$1.json" "$2"
}
same_files() { manifest "$root" | cmp -s - "$1"; }

# 1. check mode (with diff): reports changed, writes nothing, not even a journal.
play check applied vfio --check --diff
check "1. check mode: ansible-playbook succeeds (exit $rc)" test "$rc" -eq 0
check "1. check mode reports changed" result check 'r["changed"] is True'
check "1. check mode: the diff names /etc/modules with vfio_pci" result check \
	'any("/etc/modules" in x["before_header"] and "+vfio_pci" in x["prepared"] for x in r["diff"])'
check "1. facts: the scan of the capture (its GPUs)" result check \
	'sum(1 for dv in r["ansible_facts"]["iommuctl_scan"]["devices"] if dv["gpu"]) == 3'
check "1. check mode changed no file" same_files "$TEST_TMP/m0"
check "1. check mode made no journal" test ! -e "$(journal_of "$root")"

# 2. apply.
play apply applied vfio
check "2. apply: succeeds (exit $rc)" test "$rc" -eq 0
check "2. apply reports changed and the transaction" result apply 'r["changed"] is True and r["txn"] == 1'
check "2. /etc/modules now loads vfio_pci" grep -qx vfio_pci "$root/etc/modules"
check "2. the journal has the apply" test "$(sql "$root" "SELECT kind || ' ' || profile FROM txn")" = "apply vfio"
manifest "$root" >"$TEST_TMP/m1"

# 3. the same again: nothing to do.
play again applied vfio
check "3. second run: succeeds (exit $rc)" test "$rc" -eq 0
check "3. second run reports changed: false" result again 'r["changed"] is False and "txn" not in r'
check "3. no file changed" same_files "$TEST_TMP/m1"
check "3. no transaction recorded" test "$(sql "$root" "SELECT count(*) FROM txn")" = 1

# 4. a refused plan fails the task with the finding's text.
play refused applied takes-disk
check "4. refused plan: ansible-playbook fails (exit $rc)" test "$rc" -ne 0
check "4. the task failed" result refused 'r.get("failed") is True'
check "4. its message names the finding (root disk, nvme)" result refused \
	'"takes-root-disk" in r["msg"] and "nvme" in r["msg"] and r["findings"]'
check "4. no file changed" same_files "$TEST_TMP/m1"

# 5. absent rolls back; a second absent changes nothing.
play absent absent vfio --diff
check "5. absent: succeeds (exit $rc)" test "$rc" -eq 0
check "5. absent reports changed and rolled back transaction 1" result absent \
	'r["changed"] is True and r["rolled_back"] == [1] and r["txn"] == 2'
check "5. its diff is the patch of transaction 1" result absent '"+vfio_pci" in r["diff"][0]["prepared"]'
check "5. every file is as before the apply" same_files "$TEST_TMP/m0"
play absent2 absent vfio
check "5. second absent: succeeds (exit $rc)" test "$rc" -eq 0
check "5. second absent reports changed: false" result absent2 'r["changed"] is False and r["rolled_back"] == []'
check "5. no transaction recorded by it" test "$(sql "$root" "SELECT count(*) FROM txn")" = 2

# An error iommuctl reports comes back as its JSON error object.
play unknown applied no-such-profile
check "an unknown profile fails the task (exit $rc)" test "$rc" -ne 0
check "with iommuctl's error object (exit 2, message, hint)" result unknown \
	'r["iommuctl_error"]["exit"] == 2 and "no-such-profile" in r["msg"]'
plan_late
