{{/*
The migration Job: `<binary> migrate` applies the service's schema migrations and exits, as a
Helm hook before every install and upgrade, so new pods start on a migrated schema (migrations
are written to be compatible with the previous release, which keeps serving meanwhile). A
failed Job fails the release and the Deployment is not touched; it is kept for its logs until
the next attempt.

Hooks run before the release's ordinary resources exist, so whatever the Job needs is a hook of
its own, made just before it and deleted once it succeeded: its ServiceAccount, its network
policy, and (secret.create only) a copy of the Secret. Its settings are inlined rather than read
from the service's ConfigMap, which does not exist yet on a first install.
*/}}
{{- define "tessera-service.migrationName" -}}
{{- printf "%s-migrate" (include "tessera-service.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tessera-service.migrationLabels" -}}
{{ include "tessera-service.commonLabels" . }}
app.kubernetes.io/component: migrate
{{- end -}}

{{- define "tessera-service.migrationHook" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{- define "tessera-service.migration" -}}
{{- if .Values.migration.enabled -}}
{{- $name := include "tessera-service.migrationName" . -}}
{{- $g := include "tessera-service.global" . | fromYaml -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.migrationLabels" . | nindent 4 }}
  annotations:
    {{- include "tessera-service.migrationHook" -10 | nindent 4 }}
automountServiceAccountToken: false
{{- if .Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.migrationLabels" . | nindent 4 }}
  annotations:
    {{- include "tessera-service.migrationHook" -10 | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ include "tessera-service.name" . }}
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: migrate
  policyTypes: [Ingress, Egress]
  # Nothing calls it; it reaches DNS and Postgres only.
  ingress: []
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              {{- toYaml $g.networkPolicy.dns.namespaceLabels | nindent 14 }}
          podSelector:
            matchLabels:
              {{- toYaml $g.networkPolicy.dns.podLabels | nindent 14 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- include "tessera-service.egressTo" $g.networkPolicy.postgres | nindent 4 }}
{{- end }}
{{- if .Values.secret.create }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "tessera-service.secretName" . }}-migrate
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.migrationLabels" . | nindent 4 }}
  annotations:
    {{- include "tessera-service.migrationHook" -10 | nindent 4 }}
type: Opaque
data:
  {{- include "tessera-service.secretData" . | nindent 2 }}
{{- end }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.migrationLabels" . | nindent 4 }}
  annotations:
    {{- include "tessera-service.migrationHook" 0 | nindent 4 }}
spec:
  backoffLimit: {{ .Values.migration.backoffLimit }}
  # Helm waits for the Job up to its --timeout; this bounds the Job itself.
  activeDeadlineSeconds: {{ .Values.migration.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "tessera-service.migrationLabels" . | nindent 8 }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "tessera-service.podSecurityContext" . | nindent 8 }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: migrate
          image: {{ include "tessera-service.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.command }}
          command: {{ toJson . }}
          {{- end }}
          args: [migrate]
          env:
            {{- range $key, $value := include "tessera-service.configData" . | fromYaml }}
            - name: {{ $key }}
              value: {{ $value | toString | quote }}
            {{- end }}
            {{- $secret := include "tessera-service.secretName" . }}
            {{- if .Values.secret.create }}{{ $secret = printf "%s-migrate" $secret }}{{ end }}
            {{- include "tessera-service.secretEnv" (dict "values" .Values "secret" $secret) | trim | nindent 12 }}
          resources:
            {{- toYaml .Values.migration.resources | nindent 12 }}
          securityContext:
            {{- include "tessera-service.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}
{{- end -}}
