{{- define "tessera-service.deployment" -}}
{{- $name := include "tessera-service.name" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tessera-service.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  {{- /* With the autoscaler on, replicas is left to it: an upgrade must not reset the count. */}}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Never below the wanted count during a rollout: new pods come up first.
      maxUnavailable: 0
      maxSurge: 25%
  selector:
    matchLabels:
      {{- include "tessera-service.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "tessera-service.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A changed setting rolls the pods (environment variables are read once, at start).
        checksum/config: {{ include "tessera-service.configData" . | sha256sum }}
        {{- if .Values.secret.create }}
        checksum/secret: {{ toYaml .Values.secret.data | sha256sum }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- include "tessera-service.podSecurityContext" . | nindent 8 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- else }}
      affinity:
        # Replicas on different nodes where possible: one node's loss takes one replica.
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "tessera-service.selectorLabels" . | nindent 20 }}
      {{- end }}
      topologySpreadConstraints:
        {{- range .Values.topologySpread }}
        - maxSkew: {{ .maxSkew | default 1 }}
          topologyKey: {{ .topologyKey }}
          whenUnsatisfiable: {{ .whenUnsatisfiable | default "ScheduleAnyway" }}
          # Spread each rollout's pods, not the old and new ones together.
          matchLabelKeys: [pod-template-hash]
          labelSelector:
            matchLabels:
              {{- include "tessera-service.selectorLabels" $ | nindent 14 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "tessera-service.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.command }}
          command: {{ toJson . }}
          {{- end }}
          args: [serve]
          ports:
            - name: http
              containerPort: {{ .Values.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name }}
          env:
            # Kafka static membership: a restarted container takes its place back in its
            # consumer groups at once instead of waiting for a rebalance.
            - name: KAFKA_GROUP_INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- include "tessera-service.secretEnv" (dict "values" .Values "secret" (include "tessera-service.secretName" .)) | trim | nindent 12 }}
          startupProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: 2
            timeoutSeconds: 2
            failureThreshold: {{ .Values.probes.startupFailureThreshold }}
          livenessProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            # Postgres and Kafka answer (Redis loss is degraded, still 200).
            httpGet:
              path: /health/ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          {{- if gt (int .Values.preStopSleepSeconds) 0 }}
          lifecycle:
            # Keep serving while the endpoint removal reaches Kong and kube-proxy; the service
            # then drains its in-flight requests on SIGTERM.
            preStop:
              sleep:
                seconds: {{ .Values.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- required "resources (requests and limits) are required" .Values.resources | toYaml | nindent 12 }}
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
