package org.springframework.security.web.authentication;

import java.io.Serializable;

/** Same class name and serialized fields as Spring Security's form-login details. */
public class WebAuthenticationDetails implements Serializable {
    private static final long serialVersionUID = 620L;

    private final String remoteAddress;
    private final String sessionId;

    public WebAuthenticationDetails(String remoteAddress, String sessionId) {
        this.remoteAddress = remoteAddress;
        this.sessionId = sessionId;
    }

    public String getRemoteAddress() {
        return remoteAddress;
    }

    public String getSessionId() {
        return sessionId;
    }
}
