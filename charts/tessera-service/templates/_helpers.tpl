{{/*
Names and labels. The workload, its Service and its ServiceAccount are all named .Values.name
(`user-service`, ...) without the release's name: gateway/kong.yaml and the services' own
settings (JWKS_URL, REWARDS__POINT_URL, ...) call each other by these exact names, so one
namespace holds one fleet.
*/}}
{{- define "tessera-service.name" -}}
{{- required "name is required (the Kubernetes Service name, e.g. user-service)" .Values.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tessera-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of the serving pods (component server). */}}
{{- define "tessera-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tessera-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "tessera-service.commonLabels" -}}
app.kubernetes.io/name: {{ include "tessera-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: tessera
app.kubernetes.io/version: {{ include "tessera-service.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "tessera-service.chart" . }}
{{- end -}}

{{- define "tessera-service.labels" -}}
{{ include "tessera-service.commonLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Global settings shared by the fleet (set once in the umbrella chart's `global.tessera`). */}}
{{- define "tessera-service.global" -}}
{{- $g := dict -}}
{{- if .Values.global -}}{{- $g = .Values.global.tessera | default dict -}}{{- end -}}
{{- toYaml $g -}}
{{- end -}}

{{- define "tessera-service.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/* The image, pinned: by digest when one is given, else by its release tag (never latest). */}}
{{- define "tessera-service.image" -}}
{{- $tag := include "tessera-service.imageTag" . -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must name a release, not latest (or set image.digest)" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- if not (hasPrefix "sha256:" .Values.image.digest) -}}
{{- fail "image.digest must look like sha256:<64 hex digits>" -}}
{{- end -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding DATABASE_URL, REDIS_URL and the service's secret settings. */}}
{{- define "tessera-service.secretName" -}}
{{- .Values.secret.name | default (printf "%s-env" (include "tessera-service.name" .)) -}}
{{- end -}}

{{/*
A variable that must come from the Secret, never from the ConfigMap: the ones the chart lists in
secretEnv, and anything named like a credential.
*/}}
{{- define "tessera-service.isSecretName" -}}
{{- $name := .name -}}
{{- $listed := concat (.values.secretEnv.required | default list) (.values.secretEnv.optional | default list) -}}
{{- if or (has $name $listed) (regexMatch "(SECRET|PASSWORD|TOKEN|PII_KEY|SECRET_KEY)$" $name) (regexMatch "^(DATABASE_URL|REDIS_URL)$" $name) (regexMatch "__(DATABASE|REDIS|SMTP)_URL$" $name) -}}
true
{{- end -}}
{{- end -}}

{{/*
The ConfigMap's data: the fleet-wide settings, the service's bind address and port, and its own
non-secret settings (.Values.config), as the environment variables the service reads.
*/}}
{{- define "tessera-service.configData" -}}
{{- $g := include "tessera-service.global" . | fromYaml -}}
{{- $prefix := required "envPrefix is required (USER, POINT, ...)" .Values.envPrefix -}}
{{- $data := dict
  "LOG_FORMAT" ($g.logFormat | default "json")
  "RUST_LOG" ($g.rustLog | default "info")
  "KAFKA_BROKERS" (required "global.tessera.kafkaBrokers is required (the Kafka bootstrap servers)" $g.kafkaBrokers)
  "KAFKA_CREATE_TOPICS" (ternary "true" "false" (eq (toString $g.kafkaCreateTopics) "true"))
  "JWKS_URL" ($g.jwksUrl | default "http://user-service:3001/api/v1/auth/jwks.json")
  (printf "%s__HOST" $prefix) "0.0.0.0"
  (printf "%s__PORT" $prefix) (toString .Values.port)
-}}
{{- with $g.trustedProxies }}{{ $_ := set $data "TRUSTED_PROXIES" (. | toString) }}{{ end -}}
{{- with $g.otlpEndpoint }}{{ $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" (. | toString) }}{{ end -}}
{{- range $name, $value := .Values.config -}}
{{- if include "tessera-service.isSecretName" (dict "name" $name "values" $.Values) -}}
{{- fail (printf "%s is a secret: put it in the Secret (secret.name / secretEnv), not in config" $name) -}}
{{- end -}}
{{- $_ := set $data $name (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
The secret settings as environment variables, each read from its key in the Secret named
.secret: a missing required key keeps the pod from starting, naming the key.
*/}}
{{- define "tessera-service.secretEnv" -}}
{{- $secret := .secret -}}
{{- range .values.secretEnv.required }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- range .values.secretEnv.optional }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end -}}

{{- define "tessera-service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tessera-service.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
