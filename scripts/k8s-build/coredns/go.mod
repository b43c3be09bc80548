// Wrapper module: builds the CoreDNS server (cluster DNS of the single-node test cluster).
module tipsml.local/k8s-build/coredns

go 1.24.0

require github.com/coredns/coredns v1.12.1
