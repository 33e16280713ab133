{{/*
Egress to one managed backend (Postgres, Redis, Kafka) given as {cidrs, ports}: to its CIDRs when
given, else (no CIDRs known) to any address on its ports only.
*/}}
{{- define "tessera-service.egressTo" -}}
- ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Egress every pod of the fleet needs: DNS, and the managed Postgres, Redis and Kafka. */}}
{{- define "tessera-service.egressBase" -}}
{{- $np := .np -}}
- to:
    - namespaceSelector:
        matchLabels:
          {{- toYaml $np.dns.namespaceLabels | nindent 10 }}
      podSelector:
        matchLabels:
          {{- toYaml $np.dns.podLabels | nindent 10 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{ include "tessera-service.egressTo" $np.postgres }}
{{ include "tessera-service.egressTo" $np.redis }}
{{ include "tessera-service.egressTo" $np.kafka }}
{{- end -}}

{{- define "tessera-service.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled -}}
{{- $g := include "tessera-service.global" . | fromYaml -}}
{{- $np := required "global.tessera.networkPolicy is required" $g.networkPolicy -}}
{{- $self := include "tessera-service.name" . -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $self }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "tessera-service.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    # Kong, the only way in from outside.
    - from:
        - podSelector:
            matchLabels:
              {{- toYaml $np.kongPodLabels | nindent 14 }}
      ports:
        - port: http
          protocol: TCP
    # Prometheus scraping /metrics.
    - from:
        - namespaceSelector:
            matchLabels:
              {{- toYaml $np.prometheus.namespaceLabels | nindent 14 }}
          podSelector:
            matchLabels:
              {{- toYaml $np.prometheus.podLabels | nindent 14 }}
      ports:
        - port: http
          protocol: TCP
    {{- with .Values.networkPolicy.ingressFromServices }}
    # The services of the fleet that call this one directly.
    - from:
        - podSelector:
            matchExpressions:
              - key: app.kubernetes.io/name
                operator: In
                values: {{ toJson . }}
              - key: app.kubernetes.io/part-of
                operator: In
                values: [tessera]
      ports:
        - port: http
          protocol: TCP
    {{- end }}
  egress:
    {{- include "tessera-service.egressBase" (dict "np" $np) | nindent 4 }}
    {{- /* The user service's JWKS (every service verifies tokens itself), and the services this one calls. */}}
    {{- $calls := concat (list (dict "name" "user-service" "port" 3001)) (.Values.networkPolicy.egressToServices | default list) }}
    {{- range $calls }}
    {{- if ne .name $self }}
    # {{ .name }}{{ if eq .name "user-service" }} (JWKS, tokens){{ end }}
    - to:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ .name }}
              app.kubernetes.io/part-of: tessera
      ports:
        - port: {{ .port }}
          protocol: TCP
    {{- end }}
    {{- end }}
    {{- if .Values.networkPolicy.egressInternet.enabled }}
    # Providers outside the cluster ({{ .Values.networkPolicy.egressInternet.why }}): public
    # addresses only, never the private ranges nor the cloud's metadata endpoint.
    - to:
        - ipBlock:
            cidr: 0.0.0.0/0
            except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 100.64.0.0/10]
      ports:
        {{- range .Values.networkPolicy.egressInternet.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with .Values.networkPolicy.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}
