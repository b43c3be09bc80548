// Wrapper module: builds the etcd server from the published go.etcd.io/etcd/server/v3 module.
module tipsml.local/k8s-build/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
