#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests/test_slurm.py. Run as root.
#
# Installs Debian's munge, slurmctld, slurmd, slurm-client, slurmdbd and MariaDB;
# writes /etc/slurm/slurm.conf for one node "localhost" with this machine's CPUs
# and memory and one partition, plus slurmdbd.conf (job accounting in MariaDB:
# the Snakemake Slurm executor asks `sacct` for job states, and `sacct` answers
# only with accounting on); starts munged, MariaDB, slurmdbd, slurmctld and
# slurmd, registers the cluster, an account and the calling user, and waits until
# `sinfo` shows the node idle.
#
# No systemd and no cgroups (we run in a container): daemons are started directly,
# proctrack/linuxproc, task/none. Memory is a consumable resource (--mem is
# scheduled), not enforced.
#
# Idempotent: a second run finds everything installed and up and only checks it;
# a changed configuration restarts the daemons this script started (pid files).
# Exit 0: the cluster is up. Non-zero: it is not, and the last line says why.
#
# Environment: SLURM_UP_PARTITION (default "batch"), SLURM_UP_ACCOUNT (default
# "sezlights"): the partition and account the test submits to.
set -euo pipefail

PARTITION=${SLURM_UP_PARTITION:-batch}
ACCOUNT=${SLURM_UP_ACCOUNT:-sezlights}
CLUSTER=sezlights
CONF=/etc/slurm/slurm.conf
DBDCONF=/etc/slurm/slurmdbd.conf
LOGDIR=/var/log/slurm

log() { echo "slurm-up: $*"; }
die() { # the daemons' last log lines, then the reason (the last line)
    for f in "$LOGDIR"/slurmdbd.log "$LOGDIR"/slurmctld.log "$LOGDIR"/slurmd.log; do
        if [ -f "$f" ]; then echo "--- tail $f" >&2; tail -n 15 "$f" >&2; fi
    done
    echo "slurm-up: ERROR: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, starts daemons)"

# --- packages --------------------------------------------------------------------
pkgs=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi
for b in munged mariadbd slurmdbd slurmctld slurmd sinfo sbatch sacct sacctmgr; do
    command -v "$b" >/dev/null || die "$b not found after installing ${pkgs[*]}"
done

# --- helpers ----------------------------------------------------------------------
running() { # running PIDFILE: the pid in the file is alive
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}
stop() { # stop PIDFILE: end the daemon this script started, by its pid
    if running "$1"; then
        local pid
        pid=$(cat "$1")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$1"
}
wait_for() { # wait_for SECONDS WHAT CMD...: retry CMD until it succeeds
    local t=$1 what=$2
    shift 2
    for _ in $(seq $((t * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "$what did not come up within ${t}s"
}
install_conf() { # install_conf PATH MODE OWNER < content; returns 0 if it changed
    local new
    new=$(mktemp)
    cat >"$new"
    if [ -f "$1" ] && cmp -s "$new" "$1"; then
        rm -f "$new"
        return 1
    fi
    install -m "$2" -o "$3" -g "$3" "$new" "$1"
    rm -f "$new"
    return 0
}

# --- configuration ----------------------------------------------------------------
# The node as slurmd sees this machine; RealMemory a little under what it finds,
# so the node is never drained for "low RealMemory".
read -r CPUS MEM < <(slurmd -C | tr ' ' '\n' | awk -F= '
    $1 == "CPUs" {c = $2} $1 == "RealMemory" {m = $2} END {print c, m}')
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "slurmd -C did not report CPUs and RealMemory"
MEM=$((MEM - 512))

mkdir -p /etc/slurm "$LOGDIR" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/munge
chown slurm:slurm "$LOGDIR" /var/lib/slurm/slurmctld
chown munge:munge /run/munge

changed=0
install_conf "$CONF" 0644 root <<EOF && changed=1 || true
# Written by .ci/slurm-up.sh: a one-node test cluster in a container.
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
AuthType=auth/munge
SlurmUser=slurm
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
# no cgroups in a container
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
# sacct shows the comment the executor gives each job (rule and wildcards)
AccountingStoreFlags=job_comment
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

install_conf "$DBDCONF" 0600 slurm <<EOF && changed=1 || true
# Written by .ci/slurm-up.sh: accounting in the local MariaDB, unix-socket login.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
PidFile=/run/slurmdbd.pid
LogFile=$LOGDIR/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StorageLoc=slurm_acct_db
EOF

if [ "$changed" = 1 ]; then
    log "configuration written ($CPUS CPUs, ${MEM} MB, partition $PARTITION)"
    stop /run/slurmd.pid
    stop /run/slurmctld.pid
    stop /run/slurmdbd.pid
fi

# --- daemons ----------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || die "no /etc/munge/munge.key (the munge package creates it)"
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged || die "munged did not start"
    wait_for 10 munged sh -c 'munge -n | unmunge'
fi

if ! mysqladmin ping >/dev/null 2>&1; then
    log "starting MariaDB"
    /etc/init.d/mariadb start >/dev/null || die "MariaDB did not start"
    wait_for 30 MariaDB mysqladmin ping
fi
mysql <<'EOF' || die "could not create the accounting database"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

if ! running /run/slurmdbd.pid; then
    log "starting slurmdbd"
    slurmdbd || die "slurmdbd did not start"
fi
wait_for 30 slurmdbd sacctmgr -n list cluster

sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" ||
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "could not add cluster $CLUSTER"

if ! running /run/slurmctld.pid; then
    log "starting slurmctld"
    slurmctld || die "slurmctld did not start"
fi
wait_for 30 slurmctld scontrol ping

# the account the test submits to, and the user running it (root) in it
user=$(id -un)
sacctmgr -n list account format=account | grep -qw "$ACCOUNT" ||
    sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" >/dev/null ||
    die "could not add account $ACCOUNT"
sacctmgr -n list assoc user="$user" account="$ACCOUNT" format=user | grep -qw "$user" ||
    sacctmgr -i add user "$user" account="$ACCOUNT" cluster="$CLUSTER" >/dev/null ||
    die "could not add user $user to account $ACCOUNT"

if ! running /run/slurmd.pid; then
    log "starting slurmd"
    slurmd -N localhost || die "slurmd did not start"
fi

node_idle() { [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ]; }
if ! node_idle; then
    # a node left down/drained by an earlier run comes back
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
fi
wait_for 60 "node localhost (idle in sinfo)" node_idle
log "up: $(sinfo -h -o '%P %a %D %t %N %c CPUs %m MB')"
