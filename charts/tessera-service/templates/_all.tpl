{{/*
Everything a service chart renders: its one template is `{{ include "tessera-service.all" . }}`.
*/}}
{{- define "tessera-service.all" -}}
{{- $docs := list
  (include "tessera-service.serviceAccount" .)
  (include "tessera-service.configMap" .)
  (include "tessera-service.secret" .)
  (include "tessera-service.service" .)
  (include "tessera-service.deployment" .)
  (include "tessera-service.hpa" .)
  (include "tessera-service.pdb" .)
  (include "tessera-service.networkPolicy" .)
  (include "tessera-service.serviceMonitor" .)
  (include "tessera-service.migration" .)
-}}
{{- range $docs }}
{{- if trim . }}
---
{{ trim . }}
{{- end }}
{{- end }}
{{- end -}}
