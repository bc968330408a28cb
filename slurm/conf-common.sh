# Sourced by slurm/local-cluster.sh and Tests/scripts/slurm_multihost.sh: the slurm.conf lines both
# test clusters share (auth, plugins that work without cgroups in containers and VMs, requeue).
slurm_conf_common() {
    cat <<'CONF'
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
# A requeued job waits one credential lifetime before it may start again (slurm.conf(5),
# AuthInfo cred_expire; default 120 s). 10 s keeps the requeue test short without forcing
# StartTime, which races the revocation of the old job's credential.
AuthInfo=cred_expire=10
# No cgroups: plain process tracking, no task binding (works in containers and VMs).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# Requeued jobs (scontrol requeue after a checkpoint) may start again.
JobRequeue=1
KillWait=30
InactiveLimit=0
MinJobAge=600
CONF
}
