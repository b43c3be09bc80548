// Wrapper module: builds the helm CLI from the published helm.sh/helm/v3 module.
// The k8s.io libraries are raised to the pinned Kubernetes patch release so that the
// compiled packages are shared with the kube-apiserver build.
module tipsml.local/k8s-build/helm

go 1.24.0

require (
	helm.sh/helm/v3 v3.19.5
	k8s.io/api v0.34.4
	k8s.io/apiextensions-apiserver v0.34.4
	k8s.io/apimachinery v0.34.4
	k8s.io/apiserver v0.34.4
	k8s.io/cli-runtime v0.34.4
	k8s.io/client-go v0.34.4
	k8s.io/component-base v0.34.4
	k8s.io/kubectl v0.34.4
)
