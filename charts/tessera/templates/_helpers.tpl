{{- define "tessera.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tessera.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: tessera
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "tessera.chart" . }}
{{- end -}}

{{/* Kong's pods; the services' network policies let in the pods with these labels. */}}
{{- define "tessera.kong.selectorLabels" -}}
app.kubernetes.io/name: kong
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tessera.kong.labels" -}}
{{ include "tessera.labels" . }}
app.kubernetes.io/name: kong
app.kubernetes.io/component: gateway
app.kubernetes.io/version: {{ .Values.kong.image.tag | quote }}
{{- end -}}

{{- define "tessera.kong.image" -}}
{{- if .Values.kong.image.digest -}}
{{- printf "%s@%s" .Values.kong.image.repository .Values.kong.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.kong.image.repository (required "kong.image.tag is required" .Values.kong.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* gateway/kong.yaml, as copied into the chart (a test fails while the copy differs). */}}
{{- define "tessera.kong.declarative" -}}
{{- $config := .Files.Get "files/kong.yaml" -}}
{{- if not $config -}}
{{- fail "files/kong.yaml is missing: copy gateway/kong.yaml to charts/tessera/files/kong.yaml" -}}
{{- end -}}
{{- $config -}}
{{- end -}}

{{/* A Kubernetes name made of a file's base name: lower case, [a-z0-9-]. */}}
{{- define "tessera.fileName" -}}
{{- $stem := base . | trimSuffix (ext .) | lower -}}
{{- regexReplaceAll "[^a-z0-9-]+" $stem "-" | trunc 40 | trimAll "-" -}}
{{- end -}}
