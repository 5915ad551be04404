{{/* The name of this release's kcconform objects. */}}
{{- define "kcconform.name" -}}
{{- printf "%s-kcconform" .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- end -}}

{{- define "kcconform.labels" -}}
app.kubernetes.io/name: kcconform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The pod of one upgrade command (before, watch or after): client-only,
     the client's secret and the state key from Secrets, the state and the
     reports on the claim. */}}
{{- define "kcconform.podSpec" -}}
restartPolicy: Never
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: kcconform
    image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
{{ toYaml .args | indent 6 }}
    env:
      - name: KC_TARGET
        value: external
      - name: KC_URL
        value: {{ required "keycloak.url is required: the gateway's URL of the deployment" .Values.keycloak.url | quote }}
      - name: KC_REALM
        value: {{ required "keycloak.realm is required" .Values.keycloak.realm | quote }}
      - name: KC_CLIENT_ID
        value: {{ required "keycloak.clientId is required" .Values.keycloak.clientId | quote }}
      - name: KC_CLIENT_SECRET
        valueFrom:
          secretKeyRef:
            name: {{ .Values.keycloak.clientSecret.existingSecret }}
            key: {{ .Values.keycloak.clientSecret.key }}
      {{- if .Values.keycloak.clusterURLs }}
      - name: KC_CLUSTER_URLS
        value: {{ .Values.keycloak.clusterURLs | quote }}
      {{- end }}
      {{- if .Values.keycloak.caConfigMap }}
      - name: KC_CA_FILE
        value: /etc/kcconform/ca/ca.pem
      {{- end }}
      - name: KC_STATE_FILE
        value: /state/kcconform.state
      - name: KC_STATE_KEY_FILE
        value: /keys/{{ .Values.stateKey.key }}
      - name: KC_REPORT_DIR
        value: /state/reports/{{ .command }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: ["ALL"]
    resources:
{{ toYaml .Values.resources | indent 6 }}
    volumeMounts:
      - name: state
        mountPath: /state
      - name: state-key
        mountPath: /keys
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- if .Values.keycloak.caConfigMap }}
      - name: ca
        mountPath: /etc/kcconform/ca
        readOnly: true
      {{- end }}
volumes:
  - name: state
    persistentVolumeClaim:
      claimName: {{ include "kcconform.name" . }}-state
  - name: state-key
    secret:
      secretName: {{ .Values.stateKey.existingSecret }}
      defaultMode: 0400
  - name: tmp
    emptyDir: {}
  {{- if .Values.keycloak.caConfigMap }}
  - name: ca
    configMap:
      name: {{ .Values.keycloak.caConfigMap }}
  {{- end }}
{{- end -}}
