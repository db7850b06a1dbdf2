{{/* Full name of the release's objects, at most 63 characters. */}}
{{- define "mildnet-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object of the chart. */}}
{{- define "mildnet-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mildnet-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the operator pods. */}}
{{- define "mildnet-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Name of the ServiceAccount. */}}
{{- define "mildnet-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mildnet-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Settings passed to the operator as environment variables. */}}
{{- define "mildnet-operator.settings" -}}
MILDNET_NAMESPACE: {{ .Values.operator.watchNamespace | quote }}
MILDNET_TRAINER_IMAGE: {{ .Values.operator.trainerImage | quote }}
MILDNET_GPU_NODE_SELECTORS: {{ .Values.operator.gpuNodeSelectors | toJson | quote }}
MILDNET_PROGRESS_INTERVAL_SECONDS: {{ .Values.operator.progressIntervalSeconds | quote }}
MILDNET_TRAINER_METRICS_PORT: {{ .Values.operator.trainerMetricsPort | quote }}
MILDNET_RESYNC_SECONDS: {{ .Values.operator.resyncSeconds | quote }}
MILDNET_WORKERS: {{ .Values.operator.workers | quote }}
MILDNET_LOG_LEVEL: {{ .Values.operator.logLevel | quote }}
MILDNET_LEADER_ELECT: {{ .Values.leaderElection.enabled | quote }}
MILDNET_LEASE_NAME: {{ .Values.leaderElection.leaseName | quote }}
MILDNET_LEASE_DURATION_SECONDS: {{ .Values.leaderElection.leaseDurationSeconds | quote }}
MILDNET_RENEW_DEADLINE_SECONDS: {{ .Values.leaderElection.renewDeadlineSeconds | quote }}
MILDNET_RETRY_PERIOD_SECONDS: {{ .Values.leaderElection.retryPeriodSeconds | quote }}
MILDNET_HTTP_PORT: "8080"
{{- end -}}
