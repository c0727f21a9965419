#!/usr/bin/env bash
# Write the local cluster's certificates (one CA, one key and certificate per
# component, the service-account key pair), its kubeconfigs and the configs
# of containerd, the CNI, the kubelet, kube-proxy and CoreDNS, under
# $K8S_RUN. Kept between runs; delete $K8S_RUN/pki to make new ones. The
# configs are rewritten on every run (cheap, and they follow this file).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
mkdir -p "$K8S_PKI" "$K8S_CONF"
cd "$K8S_PKI"

if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj /CN=runnel-k8s-ca 2>/dev/null
fi
# cert NAME SUBJECT USAGE [SANS]
cert() {
  local n=$1 subj=$2 usage=$3 sans=${4:-}
  [ -f "$n.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
  {
    echo "extendedKeyUsage=$usage"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } > "$n.ext"
  openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" \
    -days 3650 -extfile "$n.ext" 2>/dev/null
  rm -f "$n.csr" "$n.ext"
}
cert apiserver /CN=kube-apiserver serverAuth,clientAuth \
  "IP:$NODE_IP,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=admin" clientAuth
cert controller-manager /CN=system:kube-controller-manager clientAuth
cert scheduler /CN=system:kube-scheduler clientAuth
cert kube-proxy /CN=system:kube-proxy clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }

kubeconfig() { # NAME CERT
  cat > "$K8S_CONF/$1.kubeconfig" <<K
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {certificate-authority: $K8S_PKI/ca.crt, server: "https://$NODE_IP:6443"}
users:
- name: $1
  user: {client-certificate: $K8S_PKI/$2.crt, client-key: $K8S_PKI/$2.key}
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
K
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet

cat > "$K8S_CONF/containerd.toml" <<T
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
[grpc]
  address = "$CTRD_SOCK"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_TAG"
    # Root here may lack CAP_SYS_RESOURCE: runc could not lower the sandbox's
    # oom_score_adj (-998) and every pod sandbox would fail.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
T

# ipMasq false: pod traffic is never NATed out of the machine.
cat > "$K8S_CONF/10-runnel-k8s.conflist" <<J
{
  "cniVersion": "0.4.0",
  "name": "runnel-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$K8S_STATE/cni"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
J

cat > "$K8S_CONF/kubelet.yaml" <<Y
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $K8S_PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://$CTRD_SOCK
podLogsDir: $K8S_LOGS/pods
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
Y

cat > "$K8S_CONF/kube-proxy.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $K8S_CONF/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: 10.244.0.0/16
hostnameOverride: $NODE_NAME
conntrack: {maxPerCore: 0}
Y

# CoreDNS: cluster names only; no upstream (nothing may leave the machine),
# so a template answers NXDOMAIN for everything else at once instead of
# SERVFAIL.
cat > "$K8S_CONF/coredns.yaml" <<Y
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough
        }
        template ANY ANY {
            rcode NXDOMAIN
        }
        cache 5
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      containers:
      - name: coredns
        image: $COREDNS_TAG
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 1
        volumeMounts:
        - {name: config, mountPath: /etc/coredns}
      volumes:
      - name: config
        configMap: {name: coredns}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
Y
echo "pki: certificates and configs in $K8S_RUN"
