{{/* Names and labels. */}}
{{- define "ferry.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ferry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ferry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ferry.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ferry.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The references the server follows, as a JSON list (FERRY_MODEL split at commas). */}}
{{- define "ferry.models" -}}
{{- $refs := list -}}
{{- range (splitList "," .Values.model) -}}
{{- if trim . -}}
{{- $refs = append $refs (trim .) -}}
{{- end -}}
{{- end -}}
{{- toJson $refs -}}
{{- end -}}

{{- define "ferry.cacheClaim" -}}
{{- default (printf "%s-cache" (include "ferry.fullname" .)) .Values.cache.shared.existingClaim -}}
{{- end -}}

{{/* The FERRY_* environment shared by the server, the init container and the monitor. */}}
{{- define "ferry.env" -}}
- name: FERRY_HOME
  value: {{ .Values.registry.home | quote }}
- name: FERRY_CACHE_DIR
  value: {{ .Values.cache.path | quote }}
{{- if or .Values.catalog.url .Values.catalog.existingSecret }}
- name: FERRY_CATALOG
  valueFrom:
    secretKeyRef:
      name: {{ default (include "ferry.fullname" .) .Values.catalog.existingSecret }}
      key: {{ ternary .Values.catalog.existingSecretKey "catalog-url" (ne .Values.catalog.existingSecret "") }}
{{- end }}
{{- with .Values.artifacts.url }}
- name: FERRY_ARTIFACTS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.artifacts.s3.endpointUrl }}
- name: FERRY_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.artifacts.s3.region }}
- name: FERRY_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.artifacts.s3.existingSecret }}
- name: FERRY_S3_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.artifacts.s3.accessKeyIdKey }}
- name: FERRY_S3_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.artifacts.s3.secretAccessKeyKey }}
{{- end }}
{{- with .Values.logDir }}
- name: FERRY_LOG_DIR
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Writable places under a read-only root filesystem, and the registry and cache volumes. */}}
{{- define "ferry.volumes" -}}
- name: tmp
  emptyDir: {}
- name: registry
{{- if .Values.registry.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.registry.existingClaim }}
    readOnly: {{ .Values.registry.readOnly }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "ferry.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: registry
  mountPath: {{ .Values.registry.home }}
{{- if .Values.registry.existingClaim }}
  readOnly: {{ .Values.registry.readOnly }}
{{- end }}
{{- end -}}

{{- define "ferry.secretName" -}}
{{- include "ferry.fullname" . -}}
{{- end -}}

{{- define "ferry.createSecret" -}}
{{- if or (and .Values.catalog.url (not .Values.catalog.existingSecret)) (and .Values.apiToken.value (not .Values.apiToken.existingSecret)) -}}
true
{{- end -}}
{{- end -}}
