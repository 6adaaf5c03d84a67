package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;

/**
 * Hand-written equivalent of the seed app's Lombok class (@Data @Builder
 * @AllArgsConstructor @NoArgsConstructor, no serialVersionUID): same package,
 * name, fields and getters, so JDK and Jackson output match its shape.
 * The JVM-computed serialVersionUID differs from a Lombok build; decoders
 * must not care.
 */
public class SampleSession implements Serializable {
    private String host;
    private Date lastUpdatedAt;

    public SampleSession() {
    }

    public SampleSession(String host, Date lastUpdatedAt) {
        this.host = host;
        this.lastUpdatedAt = lastUpdatedAt;
    }

    public String getHost() {
        return host;
    }

    public void setHost(String host) {
        this.host = host;
    }

    public Date getLastUpdatedAt() {
        return lastUpdatedAt;
    }

    public void setLastUpdatedAt(Date lastUpdatedAt) {
        this.lastUpdatedAt = lastUpdatedAt;
    }
}
