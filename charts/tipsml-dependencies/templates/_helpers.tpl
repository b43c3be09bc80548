{{- define "deps.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: tipsml-dependencies
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{- define "deps.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* The PostgreSQL password: the value, else the one already in the Secret, else a new random one. */}}
{{- define "deps.postgresPassword" -}}
{{- if .Values.postgres.password -}}
{{- .Values.postgres.password -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (printf "%s-postgres" .Release.Name) -}}
{{- if and $existing (index $existing.data "password") -}}
{{- index $existing.data "password" | b64dec -}}
{{- else -}}
{{- $_ := set .Values.postgres "password" (randAlphaNum 24) -}}
{{- .Values.postgres.password -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* A claim of the chart's StorageClass: dict root, name, size. */}}
{{- define "deps.claim" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "deps.labels" (dict "root" .root "component" .name) | nindent 4 }}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: {{ .size }}
  {{- with .root.Values.storageClassName }}
  storageClassName: {{ . }}
  {{- end }}
{{- end }}

{{/* Deployment + Service of one single-replica service: dict root, name, image, port(s), args, env, probe. */}}
{{- define "deps.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "deps.labels" (dict "root" .root "component" .name) | nindent 4 }}
spec:
  selector:
    {{- include "deps.selector" (dict "root" .root "component" .name) | nindent 4 }}
  ports:
    {{- range $name, $port := .ports }}
    - name: {{ $name }}
      port: {{ $port }}
      targetPort: {{ $port }}
    {{- end }}
{{- end }}
