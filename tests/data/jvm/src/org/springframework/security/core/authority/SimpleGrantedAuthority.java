package org.springframework.security.core.authority;

import org.springframework.security.core.GrantedAuthority;

/** Same class name and serialized field ({@code role}) as Spring Security's. */
public final class SimpleGrantedAuthority implements GrantedAuthority {
    private static final long serialVersionUID = 620L;

    private final String role;

    public SimpleGrantedAuthority(String role) {
        this.role = role;
    }

    @Override
    public String getAuthority() {
        return role;
    }
}
