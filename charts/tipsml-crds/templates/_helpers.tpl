{{/*
Metadata every CRD of this chart gets: the release's labels and, unless turned off, the keep policy.
Call with (dict "root" $ "name" "<crd name>").
*/}}
{{- define "tipsml-crds.metadata" -}}
name: {{ .name }}
labels:
  app.kubernetes.io/name: tipsml-crds
  app.kubernetes.io/part-of: tipsml
  app.kubernetes.io/managed-by: {{ .root.Release.Service }}
  app.kubernetes.io/instance: {{ .root.Release.Name }}
  app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
  helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
  {{- with .root.Values.labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if .root.Values.keepOnUninstall }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}
{{- end -}}
