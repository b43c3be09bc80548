{{/* Names, labels and the pieces every workload shares. */}}

{{- define "tipsml.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped prefix for the objects whose names are not fixed by the design (fixed: tip-scorer, tip-generator). */}}
{{- define "tipsml.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "tipsml.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "tipsml.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tipsml.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tipsml.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tipsml
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "operator"). */}}
{{- define "tipsml.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tipsml.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tipsml.componentLabels" -}}
{{ include "tipsml.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tipsml.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{- define "tipsml.namespace" -}}
{{ .Release.Namespace }}
{{- end }}

{{- define "tipsml.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (printf "%s-operator" (include "tipsml.fullname" .)) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tipsml.workloads.serviceAccountName" -}}
{{- if .Values.workloads.serviceAccount.create }}
{{- default (printf "%s-workloads" (include "tipsml.fullname" .)) .Values.workloads.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.workloads.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Namespace the operator watches: the release's (the InferenceServices and the registry are there). */}}
{{- define "tipsml.operator.watchNamespace" -}}
{{ .Release.Namespace }}
{{- end }}

{{- define "tipsml.feastConfigMap" -}}
{{ include "tipsml.fullname" . }}-feast
{{- end }}

{{/* The restricted container securityContext shared by every container of the chart. */}}
{{- define "tipsml.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end }}

{{/* Env every Python deployable gets: HOME on the writable /tmp, no .pyc writes on a read-only root. */}}
{{- define "tipsml.baseEnv" -}}
- name: HOME
  value: /tmp
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
{{- /* Optimized mode makes Feast's @typechecked classes plain ones: typeguard re-compiles every such method at
import (the scorer's imports took 5.8-6.1 s of CPU in the image without it, 2.6-2.7 s with it) and checks the
types of every call.
Only asserts go besides, and the project's are type narrowings. */}}
- name: PYTHONOPTIMIZE
  value: "1"
{{- end }}

{{/* MLflow address and, by reference, its credentials (a Secret with MLFLOW_TRACKING_* keys). */}}
{{- define "tipsml.mlflowEnv" -}}
- name: TIPSML_MLFLOW_TRACKING_URI
  value: {{ .Values.connections.mlflow.trackingUri | quote }}
- name: MLFLOW_TRACKING_URI
  value: {{ .Values.connections.mlflow.trackingUri | quote }}
{{- end }}

{{- define "tipsml.mlflowEnvFrom" -}}
{{- with .Values.connections.mlflow.credentialsSecret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end }}

{{/* Feast: the production feature_store.yaml and the Secrets its ${VARS} are read from. */}}
{{- define "tipsml.feastEnv" -}}
- name: TIPSML_FEAST_REDIS_CONNECTION
  valueFrom:
    secretKeyRef:
      name: {{ .Values.connections.redis.secret.name }}
      key: {{ .Values.connections.redis.secret.key }}
- name: TIPSML_FEAST_REGISTRY_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.connections.feastRegistry.secret.name }}
      key: {{ .Values.connections.feastRegistry.secret.key }}
{{- end }}

{{- define "tipsml.feastVolumeMount" -}}
- name: feast-config
  mountPath: /etc/tipsml/feast
  readOnly: true
{{- end }}

{{- define "tipsml.feastVolume" -}}
- name: feast-config
  configMap:
    name: {{ include "tipsml.feastConfigMap" . }}
{{- end }}

{{- define "tipsml.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "tipsml.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{/*
NATS: the address, and credentials and TLS files from Secrets mounted read-only. The consumers read these as
TIPSML_NATS_*, the generator (its reward feed) as TIPSML_GENERATOR_NATS_*: pass (dict "root" $ "prefix" ...).
*/}}
{{- define "tipsml.natsEnv" -}}
{{- $nats := .root.Values.connections.nats -}}
- name: {{ .prefix }}NATS_URL
  value: {{ $nats.url | quote }}
{{- if $nats.credentialsSecret }}
- name: {{ .prefix }}NATS_CREDS_FILE
  value: /var/run/secrets/tipsml/nats-creds/{{ $nats.credsKey }}
{{- end }}
{{- if $nats.tlsSecret }}
- name: {{ .prefix }}NATS_TLS_CA_FILE
  value: /var/run/secrets/tipsml/nats-tls/ca.crt
{{- if $nats.mutualTls }}
- name: {{ .prefix }}NATS_TLS_CERT_FILE
  value: /var/run/secrets/tipsml/nats-tls/tls.crt
- name: {{ .prefix }}NATS_TLS_KEY_FILE
  value: /var/run/secrets/tipsml/nats-tls/tls.key
{{- end }}
{{- end }}
{{- end }}

{{- define "tipsml.natsVolumeMounts" -}}
{{- $nats := .Values.connections.nats -}}
{{- if $nats.credentialsSecret }}
- name: nats-creds
  mountPath: /var/run/secrets/tipsml/nats-creds
  readOnly: true
{{- end }}
{{- if $nats.tlsSecret }}
- name: nats-tls
  mountPath: /var/run/secrets/tipsml/nats-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "tipsml.natsVolumes" -}}
{{- $nats := .Values.connections.nats -}}
{{- if $nats.credentialsSecret }}
- name: nats-creds
  secret:
    secretName: {{ $nats.credentialsSecret }}
    defaultMode: 0400
{{- end }}
{{- if $nats.tlsSecret }}
- name: nats-tls
  secret:
    secretName: {{ $nats.tlsSecret }}
    defaultMode: 0400
{{- end }}
{{- end }}

{{/* Prometheus scrape annotations of a predictor Pod (its server serves /metrics on port 8080). */}}
{{- define "tipsml.predictorScrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: "8080"
prometheus.io/path: /metrics
serving.kserve.io/enable-prometheus-scraping: "false"
{{- end }}
