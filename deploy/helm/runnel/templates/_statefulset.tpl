{{/*
One StatefulSet of Runnel nodes. Every pod runs the same settings and takes
its identity from its environment through the broker's pod templates
(docs/CONFIGURATION.md, "Pod templates"); Kubernetes expands $(VAR) itself,
never ${VAR}. Arguments (a dict):
  root, component (broker or controller), name, replicas, serviceName,
  roles, nodeId, listeners, advertised (empty: none), protocolMap, voters,
  ports (names among kafka, controller, external), storage, resources,
  selector (extra selector labels), rack (empty: none), affinity, spread.
*/}}
{{- define "runnel.statefulset" -}}
{{- $root := .root -}}
{{- $labels := merge (dict) .selector (include "runnel.selector" . | fromYaml) -}}
{{- $portNumbers := dict "kafka" 9092 "controller" 9093 "external" (int $root.Values.external.port) -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .name }}
  labels:
    {{- toYaml $labels | nindent 4 }}
    helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
    app.kubernetes.io/managed-by: {{ $root.Release.Service }}
spec:
  serviceName: {{ .serviceName }}
  replicas: {{ .replicas }}
  # Voters must start together to elect a leader: never one after another.
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      {{- toYaml $labels | nindent 6 }}
  template:
    metadata:
      labels:
        {{- toYaml $labels | nindent 8 }}
      {{- if $root.Values.metrics.scrape }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9644"
        prometheus.io/path: /metrics
      {{- end }}
    spec:
      # Above the broker's shutdown budget (docs/KUBERNETES.md).
      terminationGracePeriodSeconds: 60
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        fsGroupChangePolicy: OnRootMismatch
        seccompProfile:
          type: RuntimeDefault
      {{- with .affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .spread }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: runnel
          image: {{ printf "%s:%s" $root.Values.image.repository $root.Values.image.tag }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: ["server"]
          ports:
            {{- range .ports }}
            - name: {{ . }}
              containerPort: {{ get $portNumbers . }}
            {{- end }}
            - name: admin
              containerPort: 9644
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_INDEX
              valueFrom:
                fieldRef:
                  fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
            - name: HOST_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.hostIP
            - name: SERVICE_NAME
              value: {{ .serviceName }}
            - name: REPLICAS
              value: {{ .replicas | quote }}
            - name: RUNNEL_NODE_ID
              value: {{ .nodeId }}
            - name: RUNNEL_PROCESS_ROLES
              value: {{ .roles }}
            - name: RUNNEL_LISTENERS
              value: {{ .listeners }}
            {{- if .advertised }}
            - name: RUNNEL_ADVERTISED_LISTENERS
              value: {{ .advertised }}
            {{- end }}
            - name: RUNNEL_CONTROLLER_LISTENER_NAMES
              value: CONTROLLER
            - name: RUNNEL_LISTENER_SECURITY_PROTOCOL_MAP
              value: {{ .protocolMap }}
            {{- if has "kafka" .ports }}
            - name: RUNNEL_INTER_BROKER_LISTENER_NAME
              value: PLAINTEXT
            {{- end }}
            - name: RUNNEL_CONTROLLER_QUORUM_VOTERS
              value: {{ .voters }}
            {{- if .rack }}
            - name: RUNNEL_BROKER_RACK
              value: {{ .rack }}
            {{- end }}
            - name: RUNNEL_CLUSTER_ID
              value: {{ $root.Values.clusterId }}
            - name: RUNNEL_LOG_DIRS
              value: /var/lib/runnel/data
            - name: RUNNEL_ADMIN_LISTENER
              value: 0.0.0.0:9644
          # Started once the pod's own logs are recovered (up to 30 minutes
          # for a large unclean log; liveness waits for it); live while every
          # loop turns (never depends on peers); ready once the broker serves
          # and its replicas are in sync.
          startupProbe:
            httpGet:
              path: /health/started
              port: admin
            periodSeconds: 5
            failureThreshold: 360
          livenessProbe:
            httpGet:
              path: /health/live
              port: admin
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health/ready
              port: admin
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: data
              mountPath: /var/lib/runnel
  volumeClaimTemplates:
    - metadata:
        name: data
        {{- with .selector }}
        labels:
          {{- toYaml . | nindent 10 }}
        {{- end }}
      spec:
        accessModes: ["ReadWriteOnce"]
        {{- with .storage.className }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ .storage.size }}
{{- end }}
