{{- /* Rules across values that values.schema.json cannot state. Included from the Deployment, so
  helm lint, template and install all stop with the message. */ -}}
{{- define "autorun.validate" -}}
{{- if and .Values.slack.enabled (not .Values.slack.channel) -}}
{{- fail "slack.enabled=true needs slack.channel (the channel ID, for example C0123456789): without it the operator posts nothing" -}}
{{- end -}}
{{- $heap := regexFind "--max-old-space-size=[0-9]+" (.Values.nodeOptions | default "") | trimPrefix "--max-old-space-size=" -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) | toString -}}
{{- if and $heap $limit -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $limit }}{{ $mib = mul (trimSuffix "Gi" $limit | int) 1024 }}
{{- else if hasSuffix "Mi" $limit }}{{ $mib = trimSuffix "Mi" $limit | int }}
{{- else if hasSuffix "M" $limit }}{{ $mib = div (mul (trimSuffix "M" $limit | int) 1000000) 1048576 }}
{{- else if hasSuffix "G" $limit }}{{ $mib = div (mul (trimSuffix "G" $limit | int) 1000000000) 1048576 }}
{{- else }}{{ fail (printf "resources.limits.memory %q: use Mi or Gi (for example 320Mi), so that the heap cap in nodeOptions can be checked against it" $limit) }}
{{- end -}}
{{- if gt (int $heap) (div (mul $mib 3) 4) -}}
{{- fail (printf "nodeOptions --max-old-space-size=%s MiB is more than 75%% of resources.limits.memory (%s = %d MiB): V8 would grow past the limit and the kernel kill the operator (OOMKilled); lower the heap cap to about 60%% of the limit or raise the limit" $heap $limit $mib) -}}
{{- end -}}
{{- end -}}
{{- end -}}
