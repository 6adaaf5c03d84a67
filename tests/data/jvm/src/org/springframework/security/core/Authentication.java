package org.springframework.security.core;

import java.io.Serializable;
import java.security.Principal;
import java.util.Collection;

/** Stand-in for Spring Security's interface (same name, same getters). */
public interface Authentication extends Principal, Serializable {
    Collection<? extends GrantedAuthority> getAuthorities();

    Object getCredentials();

    Object getDetails();

    Object getPrincipal();

    boolean isAuthenticated();
}
