#!/bin/sh
# Terraform runs this before it destroys a k3s node's VM (a destroy-time local-exec): drain the
# node and remove it from the cluster, and refuse to remove an etcd member when the others
# would not keep a quorum. A non-zero exit stops the destroy, and the VM stays.
#   drain-node.sh <node> <server|agent>
# KUBECONFIG names the admin kubeconfig; without it, DEFAULT_KUBECONFIG (the file that
# write_kubeconfig_command writes, README: "Write the kubeconfig").
set -eu

node=$1
role=$2
# `npm run env -- destroy` of a whole environment: every node goes, so there is nothing to keep
# a quorum for, and the API may already be gone.
if [ "${STREAMSTATS_DESTROY_ENVIRONMENT:-}" = 1 ]; then
  echo "drain-node: the whole environment is being destroyed; not draining $node"
  exit 0
fi
KUBECONFIG=${KUBECONFIG:-${DEFAULT_KUBECONFIG:-}}
if [ -z "$KUBECONFIG" ] || [ ! -r "$KUBECONFIG" ]; then
  echo "drain-node: no readable kubeconfig (KUBECONFIG or ${DEFAULT_KUBECONFIG:-DEFAULT_KUBECONFIG}); cannot drain $node, so it is not destroyed" >&2
  exit 1
fi
export KUBECONFIG

if ! kubectl get node "$node" >/dev/null 2>&1; then
  echo "drain-node: $node is not a node of the cluster; nothing to drain"
  exit 0
fi

if [ "$role" = server ]; then
  # k3s labels etcd members node-role.kubernetes.io/etcd=true.
  members=$(kubectl get nodes -l node-role.kubernetes.io/etcd=true \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  total=$(printf '%s\n' "$members" | grep -c . || true)
  others_ready=$(printf '%s\n' "$members" | awk -v self="$node" '$1 != self && $2 == "True"' | grep -c . || true)
  quorum=$((total / 2 + 1))
  if [ "$others_ready" -lt "$quorum" ]; then
    echo "drain-node: refusing to remove etcd member $node: $others_ready other members are Ready, a quorum of $total needs $quorum" >&2
    exit 1
  fi
  echo "drain-node: $others_ready of $total other etcd members are Ready (quorum $quorum); removing $node"
fi

kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --force --timeout=15m --skip-wait-for-delete-timeout=60
kubectl delete node "$node" --wait=true
echo "drain-node: $node drained and removed"
