{{- define "autorun.name" -}}autorun{{- end -}}
{{- define "autorun.fullname" -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}-autorun{{- end -}}
{{- define "autorun.labels" -}}
app.kubernetes.io/name: autorun
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "autorun.selectorLabels" -}}
app.kubernetes.io/name: autorun
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}
{{- define "autorun.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "autorun.agentImage" -}}{{ .Values.agentImage | default (printf "ghcr.io/autorun-dev/autorun-agent:%s" .Chart.AppVersion) }}{{- end -}}
