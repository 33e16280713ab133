{{- define "tessera-service.service" -}}
apiVersion: v1
kind: Service
metadata:
  # Exactly the upstream host of gateway/kong.yaml (http://user-service:3001, ...).
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "tessera-service.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- define "tessera-service.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# The services never call the Kubernetes API.
automountServiceAccountToken: false
{{- end -}}

{{- define "tessera-service.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
data:
  {{- include "tessera-service.configData" . | nindent 2 }}
{{- end -}}

{{/*
The Secret, only when the chart creates it (secret.create, for development clusters): otherwise
the pods read the one named secret.name, made beforehand by the operator or by External Secrets.
*/}}
{{- define "tessera-service.secretData" -}}
{{- range .Values.secretEnv.required }}
{{- if not (hasKey $.Values.secret.data .) }}
{{- fail (printf "secret.create is true but secret.data has no %s (required)" .) }}
{{- end }}
{{- end }}
{{- range $key, $value := .Values.secret.data }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end -}}

{{- define "tessera-service.secret" -}}
{{- if .Values.secret.create -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "tessera-service.secretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
type: Opaque
data:
  {{- include "tessera-service.secretData" . | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "tessera-service.hpa" -}}
{{- if .Values.autoscaling.enabled -}}
{{- $lag := .Values.autoscaling.consumerLag -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "tessera-service.name" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- if $lag.enabled }}
    # The messages the service's consumer group has not consumed yet, per replica. An External
    # metric: the cluster needs a metrics adapter serving it from Prometheus
    # (prometheus-adapter's externalRules, or KEDA), else this metric reads as unavailable and
    # the autoscaler scales on CPU alone.
    - type: External
      external:
        metric:
          name: consumer_lag_messages
          selector:
            matchLabels:
              {{- $selector := $lag.selector | default (dict "group" (required "consumerGroup is required with autoscaling.consumerLag" .Values.consumerGroup)) }}
              {{- toYaml $selector | nindent 14 }}
        target:
          type: AverageValue
          averageValue: {{ $lag.averageValue | quote }}
    {{- end }}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Percent
          value: 100
          periodSeconds: 60
    scaleDown:
      # Scale in slowly: a consumer group rebalances at every change of membership.
      stabilizationWindowSeconds: 300
      policies:
        - type: Pods
          value: 1
          periodSeconds: 120
{{- end -}}
{{- end -}}

{{- define "tessera-service.pdb" -}}
{{- if .Values.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
spec:
  {{- if .Values.pdb.minAvailable }}
  minAvailable: {{ .Values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.pdb.maxUnavailable | default 1 }}
  {{- end }}
  # A pod that is not ready protects nothing: let a node drain evict it.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "tessera-service.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{- define "tessera-service.serviceMonitor" -}}
{{- if .Values.serviceMonitor.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "tessera-service.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
    {{- with .Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "tessera-service.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames: [{{ .Release.Namespace }}]
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .Values.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.serviceMonitor.scrapeTimeout }}
      # The services label their own series `service="point"`; keep that label, and give the
      # scrape's own series (`up`) the same one, so the alerts group both alike.
      honorLabels: true
      relabelings:
        - sourceLabels: [__meta_kubernetes_service_name]
          regex: "(.+)-service"
          targetLabel: service
          replacement: "$1"
{{- end -}}
{{- end -}}
