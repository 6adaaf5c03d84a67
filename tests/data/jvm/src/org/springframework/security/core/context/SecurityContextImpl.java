package org.springframework.security.core.context;

import java.io.Serializable;
import org.springframework.security.core.Authentication;

/** Same class name and serialized field as Spring Security's SecurityContextImpl. */
public class SecurityContextImpl implements Serializable {
    private static final long serialVersionUID = 620L;

    private Authentication authentication;

    public SecurityContextImpl() {
    }

    public SecurityContextImpl(Authentication authentication) {
        this.authentication = authentication;
    }

    public Authentication getAuthentication() {
        return authentication;
    }
}
