package org.springframework.security.core;

import java.io.Serializable;

/** Stand-in for Spring Security's interface (same name, same role). */
public interface GrantedAuthority extends Serializable {
    String getAuthority();
}
