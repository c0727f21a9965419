{{/*
Runnel's chart helpers. Every object is named after the release (release
"runnel" gives the names the kustomize overlays use), and the release name is
the app.kubernetes.io/name label, so two releases in one namespace stay apart.
*/}}

{{/* The selector labels of one component (broker or controller). */}}
{{- define "runnel.selector" -}}
app.kubernetes.io/name: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* An object's labels: the selector's and Helm's own. */}}
{{- define "runnel.labels" -}}
{{ include "runnel.selector" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* The controllers' StatefulSet and headless Service names. */}}
{{- define "runnel.controllerName" -}}
{{ .Release.Name }}-controller
{{- end }}

{{/* The voter list a broker-only node is given: every controller, written out. */}}
{{- define "runnel.controllerVoters" -}}
{{- $name := include "runnel.controllerName" . -}}
{{- $voters := list -}}
{{- range $n := until (int .Values.controllers.replicas) -}}
{{- $voters = append $voters (printf "%d@%s-%d.%s-headless.${NAMESPACE}.svc:9093" $n $name $n $name) -}}
{{- end -}}
{{- join "," $voters -}}
{{- end }}
