{{- /* The operator Pod's affinity: the user's own when set, else (with more than one replica) anti-affinity
  by hostname, so that one node going away does not take every replica with it. "preferred" still
  schedules both replicas on a one-node cluster; "required" refuses to. */ -}}
{{- define "autorun.affinity" -}}
{{- if .Values.affinity -}}
{{ toYaml .Values.affinity }}
{{- else if and (ne .Values.podAntiAffinity "none") (gt (int .Values.replicaCount) 1) -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "autorun.selectorLabels" . | fromYaml)) -}}
podAntiAffinity:
{{- if eq .Values.podAntiAffinity "required" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - {{- toYaml $term | nindent 6 }}
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm: {{- toYaml $term | nindent 8 }}
{{- end }}
{{- end -}}
{{- end -}}
