// Wrapper module: builds the helm CLI from the published helm.sh/helm/v3 module.
module tipsml.local/k8s-build/helm

go 1.24.0

require helm.sh/helm/v3 v3.19.5
